"""Input and output serializers of the catalogue API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyField, StrictIntegerField, TimestampField

from commerce.catalog.events import rating_data
from commerce.catalog.models import MAX_STOCK, Brand, CatalogImportStatus, Category, Product, ProductImage
from commerce.catalog.selectors import is_low_stock
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
    """A linked image (hosted elsewhere) in a product's ``images`` list."""

    position = StrictIntegerField(min_value=0, max_value=10_000, required=False)

    class Meta:
        model = ProductImage
        fields = ["url", "alt_text", "position"]
        extra_kwargs = {"alt_text": {"required": False}, "url": {"required": True, "allow_blank": False}}


class ProductThumbnailsSerializer(serializers.Serializer):
    small = serializers.CharField(help_text="URL, at most PRODUCT_THUMBNAIL_SMALL (240) pixels per side, WebP")
    large = serializers.CharField(help_text="URL, at most PRODUCT_THUMBNAIL_LARGE (800) pixels per side, WebP")


class ProductImageOutputSerializer(serializers.ModelSerializer):
    """An image of a product: ``source`` ``upload`` (stored here, re-encoded without metadata,
    with ``thumbnails``) or ``link`` (``url`` hosted elsewhere; ``thumbnails`` null). URLs come
    from the storage (a path under ``MEDIA_URL``, or the object storage's URL)."""

    url = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    thumbnails = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "source", "thumbnails", "alt_text", "position", "is_primary", "width", "height",
                  "content_type", "size_bytes"]
        read_only_fields = fields

    def get_url(self, image: ProductImage) -> str:
        return image.file.url if image.file else image.url

    @extend_schema_field(serializers.ChoiceField(choices=["upload", "link"]))
    def get_source(self, image: ProductImage) -> str:
        return "upload" if image.file else "link"

    @extend_schema_field(ProductThumbnailsSerializer(allow_null=True))
    def get_thumbnails(self, image: ProductImage) -> dict | None:
        if not image.file:
            return None
        return {"small": image.thumbnail_small.url, "large": image.thumbnail_large.url}


class ProductImageUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG, GIF or WebP by content; at most PRODUCT_IMAGE_MAX_BYTES "
                                           "(10 MiB) and PRODUCT_IMAGE_MAX_PIXELS (40 million)")
    alt_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(required=False, default=False)


class ProductImageUpdateInputSerializer(serializers.Serializer):
    alt_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(required=False, help_text="true makes it the primary image")


class ProductImageOrderInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=StrictIntegerField(min_value=1), max_length=100,
                                help_text="Every image id of the product, in the new order")


class ProductVendorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class RatingOutputSerializer(serializers.Serializer):
    average = serializers.CharField(allow_null=True, help_text="mean stars with two decimals (half up); null without reviews")
    count = serializers.IntegerField(help_text="visible reviews")
    distribution = serializers.ListField(child=serializers.IntegerField(), min_length=5, max_length=5,
                                         help_text="reviews with 1, 2, 3, 4 and 5 stars")


class ProductOutputSerializer(serializers.ModelSerializer):
    """A product (also the ``product:<id>`` snapshot and ``product.updated``). ``price`` is a
    string with two decimals in ``currency``. Load products through the catalogue selectors
    (vendor with its catalogue settings, brand, images) to keep it at one query per page."""

    vendor = ProductVendorSerializer(read_only=True)
    category_id = serializers.IntegerField(read_only=True)
    brand = BrandOutputSerializer(read_only=True, allow_null=True)
    images = ProductImageOutputSerializer(many=True, read_only=True)
    in_stock = serializers.SerializerMethodField()
    low_stock = serializers.SerializerMethodField(help_text="0 < stock <= the store's low-stock threshold")
    available = serializers.SerializerMethodField(help_text="on sale: active, not deleted, its store active")
    rating = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id", "vendor", "category_id", "brand", "name", "slug", "sku", "description", "price", "currency",
            "stock", "in_stock", "low_stock", "available", "attributes", "tax_class", "weight_g", "length_mm",
            "width_mm", "height_mm", "is_active", "images", "rating", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_in_stock(self, obj) -> bool:
        return obj.stock > 0

    def get_low_stock(self, obj) -> bool:
        return is_low_stock(obj)

    def get_available(self, obj) -> bool:
        return obj.is_purchasable

    @extend_schema_field(RatingOutputSerializer)
    def get_rating(self, obj) -> dict:
        return rating_data(count=obj.rating_count, total=obj.rating_sum, distribution=obj.rating_distribution)


#: the most reviews a product page shows (``latest_reviews``)
LATEST_REVIEWS = 5


class ProductPageOutputSerializer(ProductOutputSerializer):
    """The product page: ``GET /api/v1/products/{id}/``, the ``product:<id>`` snapshot and
    ``product.updated`` (``commerce.catalog.pages``). The product with its ``rating`` (the
    catalogue's columns) and ``latest_reviews``: the newest counted reviews, at most
    :data:`LATEST_REVIEWS`, given in the context by the reviews room
    (``commerce.catalog.hooks.product_reviews_summary``; empty when nothing provides them)."""

    latest_reviews = serializers.SerializerMethodField()

    class Meta(ProductOutputSerializer.Meta):
        fields = [*ProductOutputSerializer.Meta.fields, "latest_reviews"]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "maxItems": LATEST_REVIEWS, "items": {"type": "object"},
                          "description": "The newest counted reviews, newest first, each as `GET /api/v1/reviews/{id}/` "
                          "shows it without the viewer's fields (`editable_until`, `allowed_actions`)"})
    def get_latest_reviews(self, obj) -> list:
        return list(self.context.get("latest_reviews", ()))


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
