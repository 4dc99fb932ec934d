"""Admin of checkouts and orders (read-only: state changes only through the services). The
payments room adds an order's payments to its page (``commerce.payments.admin``)."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin, ReadOnlyInline
from commerce.orders.models import Checkout, Order, OrderLine, OrderStatusChange


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("product_name", "sku", "unit_price", "quantity", "line_total")
    readonly_fields = fields


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "status", "buyer", "vendor", "total", "currency", "created_at")
    list_filter = ("status", "source", "vendor")
    search_fields = ("number", "buyer__email", "vendor__name")
    inlines = [OrderLineInline, OrderStatusChangeInline]


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ("id", "buyer", "status", "total", "currency", "expires_at")
    list_filter = ("status",)
