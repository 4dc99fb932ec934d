"""Input and output serializers of the checkout and order APIs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyOutputField, TimestampField

from commerce.orders.models import CheckoutStatus, OrderStatus
from commerce.shipping.models import ShippingRule
from commerce.stores.serializers import VendorRefSerializer
from commerce.tax.models import TaxClass


class CheckoutInputSerializer(serializers.Serializer):
    shipping_methods = serializers.DictField(
        child=serializers.UUIDField(), required=False, default=dict,
        help_text="The shipping method chosen for each store of the cart: {vendor_id: method_id} (the cart's "
        "`shipping.stores[].methods` lists what is offered)")
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
    line_total = MoneyOutputField(help_text="unit_price x quantity, as the store lists prices")
    tax_class = serializers.ChoiceField(choices=TaxClass.choices)
    tax_rate = MoneyOutputField(help_text="Percent, \"19.00\"")
    net_total = MoneyOutputField()
    tax_amount = MoneyOutputField(help_text="Rounded once per line, half-up to cents")
    gross_total = MoneyOutputField(help_text="net_total + tax_amount: what the buyer pays for the line")


class ShippingMethodSnapshotSerializer(serializers.Serializer):
    """What an order keeps of its shipping method (``commerce.shipping.selectors.method_snapshot``)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    rule = serializers.ChoiceField(choices=ShippingRule.choices)
    zone = serializers.CharField()
    price = serializers.CharField(allow_null=True, help_text="The fee charged, \"4.90\"")
    currency = serializers.CharField()
    free_above = serializers.CharField(allow_null=True)
    weight_g = serializers.IntegerField(allow_null=True, help_text="The chargeable weight a weight method priced")
    distance_m = serializers.IntegerField(allow_null=True, help_text="A courier method's distance, metres")
    min_days = serializers.IntegerField(allow_null=True)
    max_days = serializers.IntegerField(allow_null=True)
    tax_class = serializers.ChoiceField(choices=TaxClass.choices)


class OrderShippingSerializer(serializers.Serializer):
    """The shipping fee's tax line and the method's snapshot (renders an ``Order``)."""

    method = serializers.SerializerMethodField()
    tax_class = serializers.CharField(source="shipping_tax_class", help_text="Empty for auction orders")
    tax_rate = MoneyOutputField(source="shipping_tax_rate", help_text="Percent")
    net = MoneyOutputField(source="shipping_net")
    tax = MoneyOutputField(source="shipping_tax")
    gross = MoneyOutputField(source="shipping_total", help_text="= shipping_total")

    @extend_schema_field(ShippingMethodSnapshotSerializer(allow_null=True))
    def get_method(self, order) -> dict | None:
        return order.shipping_method_data or None


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
    subtotal = MoneyOutputField(help_text="The lines' gross_total")
    shipping_total = MoneyOutputField()
    total = MoneyOutputField(help_text="subtotal + shipping_total")
    tax_total = MoneyOutputField(help_text="The tax in total (lines and shipping)")
    net_total = serializers.SerializerMethodField(help_text="total - tax_total")
    prices_include_tax = serializers.BooleanField()
    tax_country = serializers.CharField(help_text="Whose rates apply (the shipping address's country)")
    refunded_total = MoneyOutputField()
    lines = OrderLineOutputSerializer(many=True, source="lines.all")
    shipping = OrderShippingSerializer(source="*")
    shipping_address = serializers.JSONField(help_text="Snapshot of the address at checkout")
    billing_address = serializers.JSONField(help_text="Snapshot of the address at checkout")
    reservation_expires_at = TimestampField(allow_null=True)
    cancel_reason = serializers.CharField()
    paid_at = TimestampField(allow_null=True)
    delivered_at = TimestampField(allow_null=True, help_text="When delivery was proven (PIN or QR)")
    created_at = TimestampField()
    updated_at = TimestampField()

    @extend_schema_field(serializers.CharField())
    def get_net_total(self, order) -> str:
        return f"{order.total - order.tax_total:.2f}"


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
