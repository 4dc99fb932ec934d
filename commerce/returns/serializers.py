"""Input and output serializers of the returns API. The output serializers render the return
payload everywhere it appears: REST bodies and the ``return.*`` events
(``commerce.returns.selectors.return_data``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MONEY_OUTPUT_SCHEMA, MoneyOutputField, TimestampField

from commerce.common.photos import PhotoOutputSerializer
from commerce.orders.models import OrderStatus
from commerce.returns.models import (
    RefundSource,
    ReturnGrade,
    ReturnReason,
    ReturnStatus,
    ReturnTransport,
)

MONEY = MONEY_OUTPUT_SCHEMA


# --- input -----------------------------------------------------------------------------------


class ReturnLineInputSerializer(serializers.Serializer):
    order_line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class ReturnRequestInputSerializer(serializers.Serializer):
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=200)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    photo_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=50,
                                      help_text="Photos uploaded with POST /returns/photos/ (at most 5)")


class ReturnNoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ReturnRejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class ReturnShipInputSerializer(serializers.Serializer):
    transport = serializers.ChoiceField(choices=ReturnTransport.choices)
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ReturnGradeInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, help_text="The return line's id")
    grade = serializers.ChoiceField(choices=ReturnGrade.choices)


class ReturnInspectInputSerializer(serializers.Serializer):
    lines = ReturnGradeInputSerializer(many=True, allow_empty=False, max_length=200)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ReturnRefundInputSerializer(serializers.Serializer):
    restocking_fee_percent = serializers.CharField(
        required=False, allow_null=True, default=None,
        help_text="Decimal string, changed-mind and other returns only: 0 up to the store's maximum")
    refund_shipping = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="Changed-mind and other returns: also refund the original shipping fee (whole-order returns)")
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ReturnEscalateInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=4000)


class ReturnPhotoUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField()


class ReturnPolicyInputSerializer(serializers.Serializer):
    window_days = serializers.IntegerField(required=False, min_value=0, max_value=365)
    restocking_fee_max_percent = serializers.CharField(required=False, help_text="Decimal string, 0 to 100")
    resellable_grades = serializers.ListField(child=serializers.ChoiceField(choices=ReturnGrade.choices),
                                              required=False, max_length=4)


# --- output ----------------------------------------------------------------------------------


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A choice out, ``null`` while the stored value is blank (not chosen yet)."""

    def to_representation(self, value):
        return value or None


class ReturnVendorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ReturnOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = serializers.CharField()
    total = MoneyOutputField()
    shipping_total = MoneyOutputField()
    refunded_total = MoneyOutputField()
    delivered_at = TimestampField(allow_null=True)
    buyer_id = serializers.UUIDField()
    vendor = ReturnVendorSerializer()


class ReturnLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_line_id = serializers.IntegerField()
    product_id = serializers.UUIDField(source="order_line.product_id", allow_null=True)
    product_name = serializers.CharField(source="order_line.product_name")
    sku = serializers.CharField(source="order_line.sku")
    unit_price = MoneyOutputField(source="order_line.unit_price")
    quantity = serializers.IntegerField()
    grade = serializers.SerializerMethodField()
    restocked_quantity = serializers.IntegerField()
    paid_amount = serializers.SerializerMethodField()
    restocking_fee = MoneyOutputField()
    refund_amount = MoneyOutputField()

    def get_grade(self, line) -> str | None:  # noqa: D102
        return line.grade or None

    @extend_schema_field({**MONEY, "nullable": True, "description": "Set at the refund"})
    def get_paid_amount(self, line) -> str | None:  # noqa: D102
        return None if line.paid_amount is None else f"{line.paid_amount:.2f}"


class ReturnPhotoOutputSerializer(PhotoOutputSerializer):
    url_prefix = "/api/v1/returns/photos/"


class ReturnDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(source="decision_note")
    decided_at = TimestampField()


class ReturnInspectionSerializer(serializers.Serializer):
    note = serializers.CharField(source="inspection_note")
    inspected_at = TimestampField()


class ReturnRefundSerializer(serializers.Serializer):
    amount = MoneyOutputField(source="refund_amount")
    shipping = MoneyOutputField(source="shipping_refund")
    restocking_fee_percent = serializers.SerializerMethodField()
    restocking_fee = serializers.SerializerMethodField()
    source = serializers.ChoiceField(source="refund_source", choices=RefundSource.choices, allow_null=True)
    note = serializers.CharField(source="refund_note")
    refunded_at = TimestampField()

    @extend_schema_field({"type": "string", "format": "decimal", "example": "10.00"})
    def get_restocking_fee_percent(self, rma) -> str:  # noqa: D102
        return f"{rma.restocking_fee_percent:.2f}"

    @extend_schema_field(MONEY)
    def get_restocking_fee(self, rma) -> str:  # noqa: D102
        return f"{sum((line.restocking_fee for line in rma.lines.all()), Decimal('0.00')):.2f}"


class ReturnEscalationSerializer(serializers.Serializer):
    dispute_id = serializers.UUIDField(source="dispute.pk")
    status = serializers.CharField(source="dispute.status")
    refund_amount = MoneyOutputField(source="dispute.refund_amount")
    escalated_at = TimestampField()


class ReturnHistorySerializer(serializers.Serializer):
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    created_at = TimestampField()


class ReturnOutputSerializer(serializers.Serializer):
    """A return (``commerce.returns.selectors.return_data``): the REST body and the ``return``
    of every ``return.*`` event. Money as ``"12.50"``; times ISO 8601 UTC; objects that do not
    apply yet are null."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=ReturnStatus.choices)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    description = serializers.CharField(allow_blank=True)
    order = ReturnOrderSerializer()
    lines = ReturnLineOutputSerializer(many=True)
    photos = ReturnPhotoOutputSerializer(many=True)
    window_ends_at = TimestampField()
    decision = serializers.SerializerMethodField()
    transport = BlankAsNullChoiceField(choices=ReturnTransport.choices, allow_null=True,
                                       help_text="null until the buyer chose")
    carrier = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)
    pickup_delivery_id = serializers.UUIDField(allow_null=True)
    shipped_at = TimestampField(allow_null=True)
    received_at = TimestampField(allow_null=True)
    inspection = serializers.SerializerMethodField()
    refund = serializers.SerializerMethodField()
    refund_error = serializers.SerializerMethodField()
    escalation = serializers.SerializerMethodField()
    created_at = TimestampField()
    updated_at = TimestampField()

    @extend_schema_field(ReturnDecisionSerializer(allow_null=True))
    def get_decision(self, rma) -> dict[str, Any] | None:  # noqa: D102
        return ReturnDecisionSerializer(rma).data if rma.decided_at else None


    @extend_schema_field(ReturnInspectionSerializer(allow_null=True))
    def get_inspection(self, rma) -> dict[str, Any] | None:  # noqa: D102
        return ReturnInspectionSerializer(rma).data if rma.inspected_at else None

    @extend_schema_field(ReturnRefundSerializer(allow_null=True))
    def get_refund(self, rma) -> dict[str, Any] | None:  # noqa: D102
        if rma.refunded_at is None:
            return None
        data = ReturnRefundSerializer(rma).data
        data["source"] = rma.refund_source or None
        return data

    @extend_schema_field({"type": "string", "nullable": True,
                          "description": "The code of the last refused refund (e.g. insufficient_funds)"})
    def get_refund_error(self, rma) -> str | None:  # noqa: D102
        return rma.refund_error or None

    @extend_schema_field(ReturnEscalationSerializer(allow_null=True))
    def get_escalation(self, rma) -> dict[str, Any] | None:  # noqa: D102
        return ReturnEscalationSerializer(rma).data if rma.dispute_id else None


class ReturnDetailOutputSerializer(ReturnOutputSerializer):
    """:class:`ReturnOutputSerializer` for one viewer (REST): what they may do now
    (``allowed_actions``) and the audit trail (``history``)."""

    allowed_actions = serializers.SerializerMethodField()
    history = ReturnHistorySerializer(many=True, source="status_changes.all")


    def get_allowed_actions(self, rma) -> list[str]:  # noqa: D102
        return list(self.context.get("allowed_actions", []))


class ReturnPolicyOutputSerializer(serializers.Serializer):
    vendor_id = serializers.UUIDField()
    window_days = serializers.IntegerField()
    restocking_fee_max_percent = serializers.SerializerMethodField()
    resellable_grades = serializers.ListField(child=serializers.ChoiceField(choices=ReturnGrade.choices))

    @extend_schema_field({"type": "string", "format": "decimal", "example": "10.00"})
    def get_restocking_fee_max_percent(self, policy) -> str:  # noqa: D102
        return f"{policy.restocking_fee_max_percent:.2f}"


class ReturnableLineSerializer(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    product_name = serializers.CharField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units bought")
    returnable_quantity = serializers.IntegerField(help_text="Units bought minus those returned or being returned")


class ReturnableOutputSerializer(serializers.Serializer):
    order_id = serializers.UUIDField()
    window_ends_at = TimestampField(allow_null=True)
    open = serializers.BooleanField(help_text="A return may be requested now")
    lines = ReturnableLineSerializer(many=True)
