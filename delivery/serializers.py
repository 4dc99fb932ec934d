"""Input and output serializers of the delivery API (outputs document ``delivery_data``)."""

from rest_framework import serializers

from delivery.models import VehicleType


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
    """An unclaimed delivery as couriers browsing the open list see it: no exact drop-off, no
    address, no PIN."""

    id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    attempt = serializers.IntegerField()
    mode = serializers.CharField()
    courier = serializers.JSONField(allow_null=True)
    pickup = LatLonSerializer()
    dropoff_area = DropoffAreaSerializer()
    distance_m = serializers.FloatField(help_text="Pickup to the drop-off area's centre, metres (rounded to 100)")
    created_at = serializers.DateTimeField()


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    attempt = serializers.IntegerField(help_text="1 for the first attempt; a re-dispatch after a failure adds one")
    mode = serializers.ChoiceField(choices=["courier", "store"], help_text="store: the store's staff deliver it themselves")
    status = serializers.CharField()
    courier = serializers.JSONField(allow_null=True)
    pickup = LatLonSerializer()
    dropoff = LatLonSerializer()
    last_position = serializers.JSONField(allow_null=True, help_text="{lat, lon, ts, speed_mps, heading_deg, distance_m, eta_seconds}")
    eta_seconds = serializers.IntegerField(allow_null=True)
    distance_m = serializers.FloatField(allow_null=True, help_text="Great-circle metres to the drop-off")
    stale = serializers.BooleanField()
    tracking_ended = serializers.BooleanField()
    failure_reason = serializers.CharField()
    cancel_reason = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    path = serializers.ListField(required=False, help_text="[{lat, lon, ts}, ...] kept points, oldest first")
    pin = serializers.CharField(required=False, help_text="The buyer only, until delivered")
    qr_token = serializers.CharField(required=False, help_text="The buyer only: single-use signed proof")
