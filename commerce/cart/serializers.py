"""Input and output serializers of the cart API and of the ``cart:`` topic commands."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import StrictIntegerField

from commerce.cart.models import MAX_LINE_QUANTITY


class CartItemAddInputSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemQuantityInputSerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartSetQuantityCommandSerializer(serializers.Serializer):
    """``set_quantity`` command: ``item_id`` or ``product_id``, and ``quantity``."""

    item_id = serializers.UUIDField(required=False)
    product_id = serializers.UUIDField(required=False)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)

    def validate(self, attrs):
        if not attrs.get("item_id") and not attrs.get("product_id"):
            raise serializers.ValidationError({"item_id": ["Give item_id or product_id."]})
        return attrs


class CartRemoveItemCommandSerializer(serializers.Serializer):
    item_id = serializers.UUIDField()


class CartLineProductSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    sku = serializers.CharField()
    slug = serializers.CharField()
    vendor_id = serializers.UUIDField()
    image = serializers.CharField(allow_null=True)


class CartLineOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    product = CartLineProductSerializer()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Current price per unit")
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    available_stock = serializers.IntegerField(help_text="Units on hand now (0 when unavailable)")
    in_stock = serializers.BooleanField(help_text="Available and quantity <= available_stock")
    available = serializers.BooleanField(help_text="False when the product was deactivated, deleted or its vendor is not active")


class CartReservationSerializer(serializers.Serializer):
    checkout_id = serializers.UUIDField()
    expires_at = serializers.DateTimeField(help_text="When the reserved stock goes back (UTC)")
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    order_ids = serializers.ListField(child=serializers.UUIDField())


class CartOutputSerializer(serializers.Serializer):
    """The cart: same JSON as the ``cart:<user_id>`` snapshot and ``cart.updated`` events."""

    id = serializers.UUIDField()
    lines = CartLineOutputSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    item_count = serializers.IntegerField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    reservation = CartReservationSerializer(allow_null=True, help_text="The active checkout holding stock, or null")
