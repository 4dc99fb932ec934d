"""Input and output serializers of the payments, refunds, deposits and escrow APIs."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import MoneyField

from commerce.orders.serializers import OrderOutputSerializer
from commerce.wallet.serializers import WalletOutputSerializer


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["card", "wallet"])
    card_token = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                       help_text="Test gateway: tok_visa, tok_pending, tok_decline, tok_insufficient")


class PaymentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    method = serializers.CharField()
    gateway = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed", "needs_refund", "reversed"],
                                     help_text="needs_refund / reversed: charged but not applied, refunded by "
                                     "reconciliation")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    failure_code = serializers.CharField()
    refunded_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)


class RefundInputSerializer(serializers.Serializer):
    amount = MoneyField(required=False, allow_null=True,
                        help_text="Decimal string: goods to refund; default: all that is left, shipping included")
    include_shipping = serializers.BooleanField(required=False, default=False,
                                                help_text="Add the shipping fee not refunded yet to amount (amount 0.00: the fee alone)")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RefundOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    payment_id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="What the buyer gets back")
    shipping_amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Of it, the shipping fee")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    order = OrderOutputSerializer()


class DepositInputSerializer(serializers.Serializer):
    amount = MoneyField(help_text="Decimal string with at most two decimals, e.g. \"50.00\"")
    currency = serializers.CharField(max_length=3, required=False, default="EUR")
    card_token = serializers.CharField(max_length=64)


class DepositOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    failure_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    wallet = WalletOutputSerializer()


class EscrowOutputSerializer(serializers.Serializer):
    """An order's escrow (``commerce.payments.escrow.escrow_data``)."""

    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=["held", "released", "refunded"])
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Held (or released) amount")
    currency = serializers.CharField()
    commission = serializers.DecimalField(max_digits=14, decimal_places=2)
    release_after = serializers.DateTimeField(allow_null=True, help_text="End of the buyer-protection window")
    released_at = serializers.DateTimeField(allow_null=True)
    release_reason = serializers.CharField(allow_null=True)
    frozen = serializers.BooleanField(help_text="A dispute is open: it will not be released")
    dispute_id = serializers.UUIDField(allow_null=True)
