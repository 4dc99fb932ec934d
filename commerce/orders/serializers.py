"""Input and output serializers of the checkout and order APIs."""

from __future__ import annotations

from rest_framework import serializers


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
    id = serializers.IntegerField()
    product_id = serializers.UUIDField(allow_null=True)
    product_name = serializers.CharField()
    sku = serializers.CharField()
    vendor_name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Price per unit at purchase")
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2,
                                          help_text="unit_price x quantity, as the store lists prices")
    tax_class = serializers.CharField()
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent")
    net_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    gross_total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="net_total + tax_amount")


class OrderShippingSerializer(serializers.Serializer):
    method = serializers.JSONField(allow_null=True, help_text="Snapshot of the shipping method: id, name, rule, zone, "
                                   "price, currency, free_above, weight_g, distance_m, min_days, max_days, tax_class")
    tax_class = serializers.CharField()
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent")
    net = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax = serializers.DecimalField(max_digits=14, decimal_places=2)
    gross = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="= shipping_total")


class OrderVendorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class OrderOutputSerializer(serializers.Serializer):
    """An order (``commerce.orders.selectors.order_data``); ``allowed_transitions`` is for the viewer."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    checkout_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    source = serializers.CharField()
    buyer_id = serializers.UUIDField()
    vendor = OrderVendorSerializer()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="subtotal + shipping_total")
    tax_total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The tax in total")
    net_total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="total - tax_total")
    prices_include_tax = serializers.BooleanField()
    tax_country = serializers.CharField(help_text="Whose rates apply (the shipping address's country)")
    refunded_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = OrderLineOutputSerializer(many=True)
    shipping = OrderShippingSerializer()
    shipping_address = serializers.JSONField()
    billing_address = serializers.JSONField()
    reservation_expires_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True, help_text="When delivery was proven (PIN or QR)")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    allowed_transitions = serializers.ListField(child=serializers.CharField(), required=False)
    escrow = serializers.JSONField(required=False, allow_null=True, help_text="As EscrowOutput; null before payment")
    allowed_actions = serializers.ListField(child=serializers.CharField(), required=False,
                                            help_text="What the viewer may do now: confirm_receipt, open_dispute")


class CheckoutOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    orders = OrderOutputSerializer(many=True)


class OrderStatusInputSerializer(serializers.Serializer):
    status = serializers.CharField(max_length=32)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OrderCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
