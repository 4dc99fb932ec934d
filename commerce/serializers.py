"""Input and output serializers of the commerce API (and of the ``cart:`` topic commands).

Input serializers only validate shapes and types; rules live in ``commerce.services``. Output
serializers describe the JSON the views return (and document it in the OpenAPI schema).
"""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from commerce.models import MAX_LINE_QUANTITY, Brand, Category, Product, ProductImage, Vendor
from commerce.services import MAX_STOCK


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON integer: ``"3"``, ``3.0`` and ``true`` are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class CommerceErrorSerializer(serializers.Serializer):
    """The error body of every refusal: ``{"code", "detail", "fields"?}`` plus extra keys for
    some codes (``available_stock`` with ``insufficient_stock``; ``status``/``allowed`` with
    ``invalid_transition``)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


# --- Vendors --------------------------------------------------------------------------------


class VendorApplyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class VendorOutputSerializer(serializers.ModelSerializer):
    owner_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Vendor
        fields = ["id", "name", "slug", "description", "status", "owner_id", "status_changed_at", "created_at", "updated_at"]
        read_only_fields = fields


# --- Catalogue ------------------------------------------------------------------------------


class CategoryOutputSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    depth = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent_id", "position", "depth"]
        read_only_fields = fields

    def get_depth(self, obj) -> int:
        return self.context.get("depths", {}).get(obj.pk, 0)


class BrandOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ProductImageSerializer(serializers.ModelSerializer):
    position = StrictIntegerField(min_value=0, max_value=10_000, required=False)

    class Meta:
        model = ProductImage
        fields = ["url", "alt_text", "position"]
        extra_kwargs = {"alt_text": {"required": False}}


class ProductVendorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ProductOutputSerializer(serializers.ModelSerializer):
    """A product. ``price`` is a string with two decimals in ``currency``."""

    vendor = ProductVendorSerializer(read_only=True)
    category_id = serializers.IntegerField(read_only=True)
    brand = BrandOutputSerializer(read_only=True, allow_null=True)
    images = ProductImageSerializer(many=True, read_only=True)
    in_stock = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id", "vendor", "category_id", "brand", "name", "slug", "sku", "description", "price", "currency",
            "stock", "in_stock", "attributes", "is_active", "images", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_in_stock(self, obj) -> bool:
        return obj.stock > 0


class _ProductWriteFields(serializers.Serializer):
    category_id = StrictIntegerField(min_value=1)
    brand_id = StrictIntegerField(min_value=1, required=False, allow_null=True)
    name = serializers.CharField(max_length=200)
    sku = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK)
    attributes = serializers.DictField(child=serializers.JSONField(), required=False)
    is_active = serializers.BooleanField(required=False)
    images = ProductImageSerializer(many=True, required=False)


class ProductCreateInputSerializer(_ProductWriteFields):
    """``vendor_id`` may be left out by staff of exactly one active vendor."""

    vendor_id = serializers.UUIDField(required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="EUR",
                                      help_text="ISO 4217 code, e.g. EUR")
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False, default=0)


class ProductUpdateInputSerializer(_ProductWriteFields):
    """Every field optional; ``images`` replaces the list. The currency cannot change."""

    currency = serializers.CharField(required=False, help_text="Must equal the current currency (cannot change).")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)

    def validate(self, attrs):
        product = self.context.get("product")
        currency = attrs.pop("currency", None)
        if currency is not None and product is not None and currency != product.currency:
            raise serializers.ValidationError({"currency": ["The currency of a product cannot be changed."]})
        return attrs


# --- Cart -----------------------------------------------------------------------------------


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


class CartOutputSerializer(serializers.Serializer):
    """The cart: same JSON as the ``cart:<user_id>`` snapshot and ``cart.updated`` events."""

    id = serializers.UUIDField()
    lines = CartLineOutputSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    item_count = serializers.IntegerField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
