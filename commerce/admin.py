"""Django admin for commerce. Vendor status changes go through the service (so roles are
granted and carts refreshed); history rows are read-only."""

from django.contrib import admin, messages

from core.exceptions import ApplicationError
from commerce import services
from commerce.models import (
    Brand,
    Cart,
    CartItem,
    Category,
    Product,
    ProductImage,
    ProductPriceChange,
    ProductStockChange,
    Vendor,
    VendorStaff,
    VendorStatus,
)


class VendorStaffInline(admin.TabularInline):
    model = VendorStaff
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "owner", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "owner__email"]
    readonly_fields = ["status", "status_changed_at", "created_at", "updated_at"]
    raw_id_fields = ["owner"]
    inlines = [VendorStaffInline]
    actions = ["activate", "suspend"]

    def _transition(self, request, queryset, status):
        for vendor in queryset:
            try:
                services.vendor_set_status(vendor_id=vendor.pk, status=status, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{vendor.name}: {exc.detail}", level=messages.WARNING)

    @admin.action(description="Activate selected vendors")
    def activate(self, request, queryset):
        self._transition(request, queryset, VendorStatus.ACTIVE)

    @admin.action(description="Suspend selected vendors")
    def suspend(self, request, queryset):
        self._transition(request, queryset, VendorStatus.SUSPENDED)


@admin.register(VendorStaff)
class VendorStaffAdmin(admin.ModelAdmin):
    list_display = ["vendor", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["vendor__name", "user__email"]
    raw_id_fields = ["vendor", "user"]


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
    model = ProductImage
    extra = 0


class _ReadOnlyAdmin(admin.ModelAdmin):
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
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ProductImageInline, ProductPriceChangeInline, ProductStockChangeInline]
    list_select_related = ["vendor", "category"]


@admin.register(ProductPriceChange)
class ProductPriceChangeAdmin(_ReadOnlyAdmin):
    list_display = ["product", "old_price", "new_price", "currency", "changed_by", "created_at"]
    raw_id_fields = ["product", "changed_by"]


@admin.register(ProductStockChange)
class ProductStockChangeAdmin(_ReadOnlyAdmin):
    list_display = ["product", "old_stock", "new_stock", "reason", "changed_by", "created_at"]
    list_filter = ["reason"]
    raw_id_fields = ["product", "changed_by"]


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ["product", "url", "position"]
    raw_id_fields = ["product"]


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "version", "currency", "updated_at"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [CartItemInline]


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["cart", "product", "quantity", "updated_at"]
    raw_id_fields = ["cart", "product"]


# --- Checkout, orders, payments, wallet (read-mostly: money moves only through services) ----

from commerce.models import (  # noqa: E402
    Checkout,
    Dispute,
    DisputeStatement,
    Escrow,
    LedgerEntry,
    Order,
    OrderLine,
    OrderStatusChange,
    Payment,
    PaymentWebhookEvent,
    Refund,
    Wallet,
    WalletHold,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ("product_name", "sku", "unit_price", "quantity", "line_total")
    readonly_fields = fields


class OrderStatusChangeInline(_ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


class PaymentInline(_ReadOnlyInline):
    model = Payment
    fields = ("created_at", "method", "status", "amount", "refunded_amount", "failure_code", "intent_id")
    readonly_fields = fields


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Money and order state change only through ``commerce`` services (locks, ledger, events),
    so the admin shows them read-only; staff act through the API (status, refunds)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(_ReadOnlyAdmin):
    list_display = ("number", "status", "buyer", "vendor", "total", "currency", "created_at")
    list_filter = ("status", "source", "vendor")
    search_fields = ("number", "buyer__email", "vendor__name")
    inlines = [OrderLineInline, OrderStatusChangeInline, PaymentInline]


@admin.register(Checkout)
class CheckoutAdmin(_ReadOnlyAdmin):
    list_display = ("id", "buyer", "status", "total", "currency", "expires_at")
    list_filter = ("status",)


@admin.register(Payment)
class PaymentAdmin(_ReadOnlyAdmin):
    list_display = ("id", "order", "method", "status", "amount", "refunded_amount", "created_at")
    list_filter = ("status", "method", "gateway")
    search_fields = ("intent_id", "order__number")


@admin.register(Refund)
class RefundAdmin(_ReadOnlyAdmin):
    list_display = ("id", "payment", "amount", "reason", "actor", "created_at")


@admin.register(Escrow)
class EscrowAdmin(_ReadOnlyAdmin):
    list_display = ("order", "status", "amount", "commission", "release_after", "released_at", "release_reason")
    list_filter = ("status", "release_reason")
    search_fields = ("order__number",)


class DisputeStatementInline(_ReadOnlyInline):
    model = DisputeStatement
    fields = ("created_at", "role", "author", "text")
    readonly_fields = fields


@admin.register(Dispute)
class DisputeAdmin(_ReadOnlyAdmin):
    """Disputes with their statements and audit fields. Staff decide them through the API
    (``POST /api/v1/disputes/{id}/resolve/``), which moves the money under the locks."""

    list_display = ("id", "order", "status", "reason", "claimed_amount", "currency", "source", "created_at",
                    "store_responded_at", "resolved_at")
    list_filter = ("status", "reason", "source")
    search_fields = ("order__number", "opened_by__email", "description")
    inlines = [DisputeStatementInline]


class LedgerInline(_ReadOnlyInline):
    model = LedgerEntry
    fields = ("created_at", "kind", "amount", "held_amount", "balance_after", "held_after", "reference", "memo")
    readonly_fields = fields
    ordering = ("-id",)


@admin.register(Wallet)
class WalletAdmin(_ReadOnlyAdmin):
    list_display = ("user", "currency", "balance", "held_balance", "updated_at")
    search_fields = ("user__email",)
    inlines = [LedgerInline]


@admin.register(WalletHold)
class WalletHoldAdmin(_ReadOnlyAdmin):
    list_display = ("wallet", "reference", "amount", "status", "created_at")
    list_filter = ("status",)


@admin.register(PaymentWebhookEvent)
class PaymentWebhookEventAdmin(_ReadOnlyAdmin):
    list_display = ("event_id", "gateway", "type", "result", "received_at")
    list_filter = ("gateway", "result")
