"""Input and output serializers of the checkout and order APIs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyOutputField, TimestampField

from commerce.orders.models import CheckoutStatus, OrderStatus
from commerce.stores.serializers import VendorRefSerializer


class CheckoutInputSerializer(serializers.Serializer):
    shipping_address_id = serializers.UUIDField(required=False, allow_null=True,
                                                help_text="Default: your default shipping address")
    billing_address_id = serializers.UUIDField(required=False, allow_null=True,
                                               help_text="Default: your default billing address, else the shipping one")


class OrderLineOutputSerializer(serializers.Serializer):
    """An order line: a snapshot of the product at purchase."""

    id = serializers.IntegerField()
    product_id = serializers.UUIDField(allow_null=True)
    product_name = serializers.CharField()
    sku = serializers.CharField()
    vendor_name = serializers.CharField()
    unit_price = MoneyOutputField(help_text="Price per unit at purchase")
    quantity = serializers.IntegerField()
    line_total = MoneyOutputField()


class OrderSerializer(serializers.Serializer):
    """An order: the body of ``order.created`` events (``vendor:`` topic), of a checkout's
    ``orders`` and of a buy-it-now; :class:`OrderOutputSerializer` adds what one viewer may do.
    Renders an ``Order`` loaded with its ``vendor`` and ``lines`` (``selectors.with_protection``).
    Money as ``"12.50"`` strings in ``currency``; times ISO 8601 UTC."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    checkout_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    source = serializers.CharField()
    buyer_id = serializers.UUIDField()
    vendor = VendorRefSerializer()
    currency = serializers.CharField()
    subtotal = MoneyOutputField()
    shipping_total = MoneyOutputField()
    total = MoneyOutputField()
    refunded_total = MoneyOutputField()
    lines = OrderLineOutputSerializer(many=True, source="lines.all")
    shipping_address = serializers.JSONField(help_text="Snapshot of the address at checkout")
    billing_address = serializers.JSONField(help_text="Snapshot of the address at checkout")
    reservation_expires_at = TimestampField(allow_null=True)
    cancel_reason = serializers.CharField()
    paid_at = TimestampField(allow_null=True)
    delivered_at = TimestampField(allow_null=True, help_text="When delivery was proven (PIN or QR)")
    created_at = TimestampField()
    updated_at = TimestampField()


class OrderOutputSerializer(OrderSerializer):
    """An order for one viewer (``commerce.orders.selectors.order_data_for``): :class:`OrderSerializer`
    plus ``allowed_transitions`` (the moves the viewer may ask for) and what the rooms above add
    through the ``order_extras`` hook (``escrow``, ``allowed_actions``). The caller puts those
    in ``context["viewer_data"]``."""

    allowed_transitions = serializers.SerializerMethodField()
    escrow = serializers.SerializerMethodField(help_text="As EscrowOutput; null before payment")
    allowed_actions = serializers.SerializerMethodField(
        help_text="What the viewer may do now: confirm_receipt, open_dispute")

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=OrderStatus.choices)))
    def get_allowed_transitions(self, order) -> list[str]:
        return self.context["viewer_data"]["allowed_transitions"]

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_escrow(self, order) -> dict | None:
        return self.context["viewer_data"]["escrow"]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=["confirm_receipt", "open_dispute"])))
    def get_allowed_actions(self, order) -> list[str]:
        return self.context["viewer_data"]["allowed_actions"]


class OrderSummarySerializer(serializers.Serializer):
    """A short order for lists and events (``order.status_changed``, the ``vendor:`` snapshot's
    ``open_orders``)."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    buyer_id = serializers.UUIDField()
    vendor_id = serializers.UUIDField()
    currency = serializers.CharField()
    total = MoneyOutputField()
    created_at = TimestampField()
    updated_at = TimestampField()


class CheckoutOutputSerializer(serializers.Serializer):
    """A checkout with its orders (one per store), by store name."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=CheckoutStatus.choices)
    currency = serializers.CharField()
    total = MoneyOutputField()
    expires_at = TimestampField()
    created_at = TimestampField()
    orders = OrderSerializer(many=True, source="orders_by_vendor")


class OrderStatusInputSerializer(serializers.Serializer):
    status = serializers.CharField(max_length=32)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OrderCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
