"""Input and output serializers of the catalogue API."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import MoneyField, StrictIntegerField, TimestampField

from commerce.catalog.models import Brand, CatalogImportStatus, Category, Product, ProductImage
from commerce.catalog.services import MAX_STOCK
from commerce.stores.models import Vendor
from commerce.tax.models import TaxClass


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
            "stock", "in_stock", "attributes", "tax_class", "weight_g", "length_mm", "width_mm", "height_mm",
            "is_active", "images", "created_at", "updated_at",
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
    price = MoneyField(help_text="Decimal string with at most two decimals, e.g. \"19.99\"")
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK)
    attributes = serializers.DictField(child=serializers.JSONField(), required=False)
    is_active = serializers.BooleanField(required=False)
    images = ProductImageSerializer(many=True, required=False)
    tax_class = serializers.ChoiceField(choices=TaxClass.choices, required=False,
                                        help_text="Tax rate class (default standard)")
    weight_g = StrictIntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True,
                                  help_text="Weight of one packed unit, grams (prices shipping by weight)")
    length_mm = StrictIntegerField(min_value=1, max_value=100_000, required=False, allow_null=True,
                                   help_text="Packed length, millimetres")
    width_mm = StrictIntegerField(min_value=1, max_value=100_000, required=False, allow_null=True,
                                  help_text="Packed width, millimetres")
    height_mm = StrictIntegerField(min_value=1, max_value=100_000, required=False, allow_null=True,
                                   help_text="Packed height, millimetres")


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


class CatalogImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX, at most CATALOG_IMPORT_MAX_BYTES (10 MB); columns: "
                                 "commerce.catalog.spreadsheet")


class CatalogImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="As a spreadsheet numbers it: the header is line 1")
    sku = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_blank=True, help_text="The column at fault (empty: the row as a whole)")
    message = serializers.CharField()


class CatalogImportOutputSerializer(serializers.Serializer):
    """A catalogue import and how far its job got (``errors``: only in the detail)."""

    id = serializers.UUIDField()
    vendor_id = serializers.UUIDField()
    file_name = serializers.CharField()
    file_format = serializers.ChoiceField(choices=["csv", "xlsx"])
    status = serializers.ChoiceField(choices=CatalogImportStatus.choices)
    detail = serializers.CharField(allow_blank=True, help_text="Why a failed file could not be read")
    total_rows = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error_count = serializers.IntegerField()
    created_at = TimestampField()
    started_at = TimestampField(allow_null=True)
    finished_at = TimestampField(allow_null=True)
    errors_url = serializers.SerializerMethodField()

    def get_errors_url(self, job) -> str:
        return f"/api/v1/vendors/{job.vendor_id}/catalog-imports/{job.pk}/errors/"


class CatalogImportDetailOutputSerializer(CatalogImportOutputSerializer):
    errors = CatalogImportErrorSerializer(many=True, help_text="The per-row report (also as CSV: errors_url)")


class CatalogExportInputSerializer(serializers.Serializer):
    file_format = serializers.ChoiceField(choices=["csv", "xlsx"], default="csv", required=False)
