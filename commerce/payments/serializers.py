"""Input and output serializers of the payments, refunds, deposits and escrow APIs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyField, MoneyOutputField, TimestampField

from commerce.orders.serializers import OrderOutputSerializer
from commerce.payments.models import PaymentMethod, PaymentStatus
from commerce.wallet.models import EscrowReleaseReason, EscrowStatus
from commerce.wallet.serializers import WalletOutputSerializer


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["card", "wallet"])
    card_token = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                       help_text="Test gateway: tok_visa, tok_pending, tok_decline, tok_insufficient")


class PaymentOutputSerializer(serializers.Serializer):
    """A payment attempt (REST only; money as ``"12.50"`` strings)."""

    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    gateway = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentStatus.choices,
                                     help_text="needs_refund / reversed: charged but not applied, refunded by "
                                     "reconciliation")
    amount = MoneyOutputField()
    currency = serializers.CharField()
    failure_code = serializers.CharField()
    refunded_amount = MoneyOutputField()
    created_at = TimestampField()
    succeeded_at = TimestampField(allow_null=True)


class RefundInputSerializer(serializers.Serializer):
    amount = MoneyField(required=False, allow_null=True,
                        help_text="Decimal string: goods to refund; default: all that is left, shipping included")
    include_shipping = serializers.BooleanField(required=False, default=False,
                                                help_text="Add the shipping fee not refunded yet to amount (amount 0.00: the fee alone)")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RefundOutputSerializer(serializers.Serializer):
    """A refund and its order as the caller now sees it (``context["order"]``: the order's
    body from ``commerce.orders.selectors.order_data_for``)."""

    id = serializers.UUIDField()
    payment_id = serializers.UUIDField()
    amount = MoneyOutputField(help_text="What the buyer gets back")
    shipping_amount = MoneyOutputField(help_text="Of it, the shipping fee")
    reason = serializers.CharField()
    created_at = TimestampField()
    order = serializers.SerializerMethodField()

    @extend_schema_field(OrderOutputSerializer)
    def get_order(self, refund) -> dict:
        return self.context["order"]


class DepositInputSerializer(serializers.Serializer):
    amount = MoneyField(help_text="Decimal string with at most two decimals, e.g. \"50.00\"")
    currency = serializers.CharField(max_length=3, required=False, default="EUR")
    card_token = serializers.CharField(max_length=64)


class DepositOutputSerializer(serializers.Serializer):
    """A wallet top-up by card and the wallet after it (``context["wallet"]``)."""

    id = serializers.UUIDField()
    amount = MoneyOutputField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    failure_code = serializers.CharField()
    created_at = TimestampField()
    wallet = serializers.SerializerMethodField()

    @extend_schema_field(WalletOutputSerializer)
    def get_wallet(self, deposit) -> dict:
        return WalletOutputSerializer(self.context["wallet"]).data


class EscrowOutputSerializer(serializers.Serializer):
    """An order's escrow: the REST ``order.escrow`` and the ``escrow.updated`` event data
    (``commerce.payments.escrow.escrow_data``). Renders an ``Escrow``; ``context["order"]``
    (default ``escrow.order``) gives ``order_number`` and ``context["dispute_id"]`` the open
    dispute freezing it, if any."""

    order_id = serializers.UUIDField()
    order_number = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=EscrowStatus.choices)
    amount = MoneyOutputField(help_text="Held (or released) amount")
    currency = serializers.CharField()
    commission = MoneyOutputField()
    release_after = TimestampField(allow_null=True, help_text="End of the buyer-protection window; null until "
                                   "delivery is proven")
    released_at = TimestampField(allow_null=True)
    release_reason = serializers.SerializerMethodField()
    frozen = serializers.SerializerMethodField(help_text="A dispute is open: it will not be released")
    dispute_id = serializers.SerializerMethodField()

    def get_order_number(self, escrow) -> str:
        return (self.context.get("order") or escrow.order).number

    @extend_schema_field(serializers.ChoiceField(choices=EscrowReleaseReason.choices, allow_null=True))
    def get_release_reason(self, escrow) -> str | None:
        return escrow.release_reason or None

    def get_frozen(self, escrow) -> bool:
        return self.context.get("dispute_id") is not None and escrow.status == EscrowStatus.HELD

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_dispute_id(self, escrow) -> str | None:
        dispute_id = self.context.get("dispute_id")
        return None if dispute_id is None else str(dispute_id)


class WebhookResultSerializer(serializers.Serializer):
    """What the marketplace did with a gateway event (``payments_handle_webhook``)."""

    event_id = serializers.CharField()
    result = serializers.CharField(help_text="duplicate, ignored, unknown_intent, intent_pending, status_mismatch, "
                                   "intent_mismatch, or the settlement's result (payment_succeeded, deposit_succeeded…)")
