"""Input and output serializers of the cart API and of the ``cart:`` topic commands."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyOutputField, StrictIntegerField, TimestampField

from commerce.cart.models import MAX_LINE_QUANTITY
from commerce.catalog.selectors import primary_image_url
from commerce.shipping.models import ShippingRule


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
    """The product of a cart line (a ``Product`` with its images prefetched in display order)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    sku = serializers.CharField()
    slug = serializers.CharField()
    vendor_id = serializers.UUIDField()
    image = serializers.SerializerMethodField(help_text="URL of the primary image (the small thumbnail "
                                              "of an upload), or null")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_image(self, product) -> str | None:
        return primary_image_url(list(product.images.all()))  # prefetched


class CartLineOutputSerializer(serializers.Serializer):
    """A cart line (``commerce.cart.selectors.CartLine``)."""

    id = serializers.UUIDField(source="item.id")
    product = CartLineProductSerializer(source="item.product")
    unit_price = MoneyOutputField(help_text="Current price per unit")
    currency = serializers.CharField(source="item.product.currency")
    quantity = serializers.IntegerField(source="item.quantity")
    line_total = MoneyOutputField()
    available_stock = serializers.IntegerField(help_text="Units on hand now (0 when unavailable)")
    in_stock = serializers.BooleanField(help_text="Available and quantity <= available_stock")
    available = serializers.BooleanField(help_text="False when the product was deactivated, deleted or its vendor is not active")


class CartReservationSerializer(serializers.Serializer):
    """The buyer's active checkout holding stock (the ``checkout_reservations`` hook's answer)."""

    checkout_id = serializers.UUIDField()
    expires_at = TimestampField(help_text="When the reserved stock goes back (UTC)")
    total = MoneyOutputField()
    currency = serializers.CharField()
    order_ids = serializers.ListField(child=serializers.UUIDField())


class CartShippingAddressSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    country = serializers.CharField()
    postal_code = serializers.CharField(allow_blank=True)
    region = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)


class CartShippingMethodSerializer(serializers.Serializer):
    """A shipping method offered for the store's part of the cart, with its price now."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    rule = serializers.ChoiceField(choices=ShippingRule.choices)
    price = MoneyOutputField()
    currency = serializers.CharField()
    free_above = MoneyOutputField(allow_null=True, help_text="Free from this store basket value, or null")
    min_days = serializers.IntegerField(allow_null=True)
    max_days = serializers.IntegerField(allow_null=True)


class CartShippingStoreSerializer(serializers.Serializer):
    vendor_id = serializers.UUIDField()
    vendor_name = serializers.CharField()
    prices_include_tax = serializers.BooleanField(help_text="False: tax is added at checkout")
    basket_value = MoneyOutputField(help_text="The store's part of the cart")
    currency = serializers.CharField()
    methods = CartShippingMethodSerializer(many=True, help_text="Offered now, cheapest first; checkout takes one id")


class CartShippingSerializer(serializers.Serializer):
    """Each store's shipping offer for the buyer's default shipping address (none without one)."""

    address = CartShippingAddressSerializer(allow_null=True)
    stores = CartShippingStoreSerializer(many=True)


class CartOutputSerializer(serializers.Serializer):
    """The cart (``commerce.cart.selectors.CartView``): the REST body, the ``cart:<user_id>``
    snapshot and the ``cart.updated`` event data."""

    id = serializers.UUIDField(source="cart.id")
    lines = CartLineOutputSerializer(many=True)
    total = MoneyOutputField()
    currency = serializers.CharField(source="cart.currency")
    item_count = serializers.IntegerField()
    version = serializers.IntegerField(source="cart.version")
    updated_at = TimestampField(source="cart.updated_at")
    reservation = CartReservationSerializer(allow_null=True, help_text="The active checkout holding stock, or null")
    shipping = CartShippingSerializer()
