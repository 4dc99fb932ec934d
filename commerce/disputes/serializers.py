"""Input and output serializers of the disputes API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyOutputField, TimestampField

from commerce.disputes.models import DisputeReason, DisputeRole, DisputeStatus
from commerce.orders.models import OrderStatus
from commerce.stores.serializers import VendorRefSerializer


class DisputeOpenInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    description = serializers.CharField(max_length=4000)
    claimed_amount = serializers.CharField(required=False, allow_null=True,
                                           help_text="Decimal string; default: all that is refundable")


class DisputeStatementInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class DisputeResolveInputSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=["release", "partial_refund", "refund"])
    amount = serializers.CharField(required=False, allow_null=True,
                                   help_text="partial_refund: the decimal amount back to the buyer")
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class DisputeStatementOutputSerializer(serializers.Serializer):
    """A statement. Staff authors show as "Marketplace staff" unless ``context["staff_viewer"]``."""

    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=DisputeRole.choices)
    author_name = serializers.SerializerMethodField()
    text = serializers.CharField()
    created_at = TimestampField()

    def get_author_name(self, st) -> str:
        if st.role == DisputeRole.STAFF and not self.context.get("staff_viewer"):
            return "Marketplace staff"
        return (st.author.display_name if st.author_id and st.author else "") or DisputeRole(st.role).label


class DisputeOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = serializers.CharField()
    total = MoneyOutputField()
    refunded_total = MoneyOutputField()
    buyer_id = serializers.UUIDField()
    vendor = VendorRefSerializer()


class DisputeResolutionSerializer(serializers.Serializer):
    """How staff decided a dispute (renders the ``Dispute``)."""

    refund_amount = MoneyOutputField()
    released_amount = MoneyOutputField()
    note = serializers.CharField(source="resolution_note")
    resolved_at = TimestampField()


class StaffDisputeResolutionSerializer(DisputeResolutionSerializer):
    """:class:`DisputeResolutionSerializer` plus who decided, for marketplace staff."""

    resolved_by_id = serializers.UUIDField(allow_null=True)


class DisputeOutputSerializer(serializers.Serializer):
    """A dispute (``commerce.disputes.selectors.dispute_data``): list items and the ``dispute.*``
    event data. ``context["staff_viewer"]``: the viewer is marketplace staff (who decided, and
    staff authors' names)."""

    id = serializers.UUIDField()
    order = DisputeOrderSerializer()
    source = serializers.CharField(help_text="buyer, or the app that opened it for the buyer (e.g. return)")
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    description = serializers.CharField()
    claimed_amount = MoneyOutputField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    store_responded_at = TimestampField(allow_null=True)
    resolution = serializers.SerializerMethodField(help_text="null while open or withdrawn")
    withdrawn_at = TimestampField(allow_null=True)
    created_at = TimestampField()
    updated_at = TimestampField()

    @extend_schema_field(StaffDisputeResolutionSerializer(allow_null=True))
    def get_resolution(self, dispute) -> dict | None:
        if dispute.resolved_at is None:
            return None
        cls = StaffDisputeResolutionSerializer if self.context.get("staff_viewer") else DisputeResolutionSerializer
        return cls(dispute).data


class DisputeDetailOutputSerializer(DisputeOutputSerializer):
    """A dispute with its statements, oldest first."""

    statements = serializers.SerializerMethodField()

    @extend_schema_field(DisputeStatementOutputSerializer(many=True))
    def get_statements(self, dispute) -> list[dict]:
        statements = dispute.statements.select_related("author").order_by("id")
        return DisputeStatementOutputSerializer(statements, many=True, context=self.context).data
