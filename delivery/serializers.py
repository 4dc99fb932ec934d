"""Input and output serializers of the delivery API and the ``delivery:`` topic snapshot."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import TimestampField
from delivery.models import DeliveryMode, DeliveryStatus, VehicleType


class PointSerializer(serializers.Serializer):
    ts = serializers.DateTimeField(help_text="Device time, ISO 8601 with zone")
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(min_value=0)
    speed_mps = serializers.FloatField(required=False, allow_null=True, min_value=0)
    heading_deg = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=360)


class LocationsInputSerializer(serializers.Serializer):
    points = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=500,
                                   help_text="Points as PointSerializer; out of order and repeats are fine")


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["picked_up", "en_route", "arriving", "failed"])
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CompleteInputSerializer(serializers.Serializer):
    pin = serializers.CharField(max_length=8, required=False, allow_blank=True)
    qr_token = serializers.CharField(max_length=500, required=False, allow_blank=True)


class CourierProfileInputSerializer(serializers.Serializer):
    online = serializers.BooleanField(required=False)
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices, required=False)


class LatLonSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lon = serializers.FloatField()


class DropoffAreaSerializer(serializers.Serializer):
    lat = serializers.FloatField(help_text="Centre of the grid cell holding the drop-off")
    lon = serializers.FloatField()
    cell_m = serializers.IntegerField(help_text="Cell size in metres (DELIVERY_OPEN_DROPOFF_CELL_M)")
    city = serializers.CharField()


class OpenDeliveryOutputSerializer(serializers.Serializer):
    """An unclaimed delivery as couriers browsing the open list see it
    (``delivery.services.OpenDeliveryView``): no exact drop-off, no address, no PIN."""

    id = serializers.UUIDField(source="delivery.pk")
    order_number = serializers.CharField(source="delivery.order.number")
    status = serializers.ChoiceField(source="delivery.status", choices=DeliveryStatus.choices)
    attempt = serializers.IntegerField(source="delivery.attempt")
    mode = serializers.ChoiceField(source="delivery.mode", choices=DeliveryMode.choices)
    courier = serializers.SerializerMethodField(help_text="Always null: nobody claimed it")
    pickup = LatLonSerializer()
    dropoff_area = DropoffAreaSerializer()
    distance_m = serializers.FloatField(help_text="Pickup to the drop-off area's centre, metres (rounded to 100)")
    created_at = TimestampField(source="delivery.created_at")

    @extend_schema_field({"type": "object", "nullable": True, "description": "Always null"})
    def get_courier(self, view) -> None:
        return None


class CourierRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class PositionSerializer(serializers.Serializer):
    """The last kept position and what follows from it."""

    lat = serializers.FloatField()
    lon = serializers.FloatField()
    ts = TimestampField(help_text="Device time of the point")
    speed_mps = serializers.FloatField(allow_null=True)
    heading_deg = serializers.FloatField(allow_null=True)
    distance_m = serializers.FloatField(help_text="Great-circle metres to the drop-off (0.1 m)")
    eta_seconds = serializers.IntegerField(allow_null=True)


class PathPointSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    ts = TimestampField()


class DeliveryOutputSerializer(serializers.Serializer):
    """A delivery for someone who may watch it (``delivery.services.DeliveryView``): the REST
    body and the ``delivery:<id>`` snapshot. ``path`` (with the path asked for), ``pin`` and
    ``qr_token`` (the buyer only, until the delivery ends) are left out where they do not
    apply. After the end the buyer sees no position or path."""

    id = serializers.UUIDField(source="delivery.pk")
    order_id = serializers.UUIDField(source="delivery.order.pk")
    order_number = serializers.CharField(source="delivery.order.number")
    attempt = serializers.IntegerField(source="delivery.attempt",
                                       help_text="1 for the first attempt; a re-dispatch after a failure adds one")
    mode = serializers.ChoiceField(source="delivery.mode", choices=DeliveryMode.choices,
                                   help_text="store: the store's staff deliver it themselves")
    status = serializers.ChoiceField(source="delivery.status", choices=DeliveryStatus.choices)
    courier = CourierRefSerializer(allow_null=True)
    pickup = LatLonSerializer()
    dropoff = LatLonSerializer()
    last_position = PositionSerializer(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    distance_m = serializers.FloatField(allow_null=True, help_text="Great-circle metres to the drop-off")
    stale = serializers.BooleanField(source="delivery.stale")
    tracking_ended = serializers.BooleanField(source="delivery.tracking_ended")
    failure_reason = serializers.CharField(source="delivery.failure_reason")
    cancel_reason = serializers.CharField(source="delivery.cancel_reason")
    delivered_at = TimestampField(source="delivery.delivered_at", allow_null=True)
    path = PathPointSerializer(many=True, required=False, source="extra.path",
                               help_text="Kept points, oldest first")
    pin = serializers.CharField(required=False, source="extra.pin", help_text="The buyer only, until delivered")
    qr_token = serializers.CharField(required=False, source="extra.qr_token",
                                     help_text="The buyer only: single-use signed proof")


class LocationsOutputSerializer(serializers.Serializer):
    """What a batch of positions did (``delivery.services.IngestResult``)."""

    kept = serializers.IntegerField(help_text="Points added to the path")
    rejected = serializers.IntegerField(help_text="Impossible jumps")
    dropped = serializers.IntegerField(help_text="Repeats")
    hidden = serializers.IntegerField(help_text="Too inaccurate to show: kept, not broadcast")
    broadcast = serializers.BooleanField(help_text="A position went out to watchers")
    deferred = serializers.BooleanField(help_text="A broadcast is scheduled (rate limit)")


class CourierProfileOutputSerializer(serializers.Serializer):
    online = serializers.BooleanField()
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices)
