"""Admin of the catalogue: categories, brands, products with images and their price and stock
history (read-only rows)."""

from django.contrib import admin
from django.utils.html import format_html

from commerce.catalog.models import (
    Brand,
    CatalogSettings,
    Category,
    Product,
    ProductImage,
    ProductPriceChange,
    ProductStockChange,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ProductImageInline(admin.TabularInline):
    """A product's images, read-only: uploads, order and the primary image go through the API
    (``commerce.catalog.media``), which checks the files, keeps one primary image and removes
    deleted files."""

    model = ProductImage
    extra = 0
    fields = ["preview", "url", "alt_text", "position", "is_primary", "width", "height", "content_type", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="image")
    def preview(self, image: ProductImage) -> str:
        src = image.thumbnail_small.url if image.thumbnail_small else image.url
        return format_html('<img src="{}" alt="" style="max-height:80px">', src) if src else "-"


class HistoryAdmin(admin.ModelAdmin):
    """Price and stock history: rows are never added or changed by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProductPriceChangeInline(admin.TabularInline):
    model = ProductPriceChange
    extra = 0
    can_delete = False
    readonly_fields = ["old_price", "new_price", "currency", "changed_by", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class ProductStockChangeInline(admin.TabularInline):
    model = ProductStockChange
    extra = 0
    can_delete = False
    readonly_fields = ["old_stock", "new_stock", "reason", "changed_by", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "vendor", "category", "price", "currency", "stock", "is_active", "deleted_at"]
    list_filter = ["is_active", "vendor", "currency", "category"]
    search_fields = ["name", "sku", "slug"]
    raw_id_fields = ["vendor", "category", "brand"]
    # The rating aggregate is the reviews room's to keep (through the catalogue's services).
    readonly_fields = ["created_at", "updated_at", "rating_count", "rating_sum", "rating_distribution"]
    inlines = [ProductImageInline, ProductPriceChangeInline, ProductStockChangeInline]
    list_select_related = ["vendor", "category"]


@admin.register(ProductPriceChange)
class ProductPriceChangeAdmin(HistoryAdmin):
    list_display = ["product", "old_price", "new_price", "currency", "changed_by", "created_at"]
    raw_id_fields = ["product", "changed_by"]


@admin.register(ProductStockChange)
class ProductStockChangeAdmin(HistoryAdmin):
    list_display = ["product", "old_stock", "new_stock", "reason", "changed_by", "created_at"]
    list_filter = ["reason"]
    raw_id_fields = ["product", "changed_by"]


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ["product", "url", "position"]
    raw_id_fields = ["product"]


@admin.register(CatalogSettings)
class CatalogSettingsAdmin(admin.ModelAdmin):
    """A store's catalogue settings (the low-stock threshold of its product pages)."""

    list_display = ["vendor", "low_stock_threshold"]
    raw_id_fields = ["vendor"]
    search_fields = ["vendor__name"]
