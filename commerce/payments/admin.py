"""Admin of payments, refunds and webhook events (read-only: money moves only through the
services). An order's page also lists its payments: the order admin is registered again here
with the payments inline, since the orders room does not know payments."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin, ReadOnlyInline
from commerce.orders.admin import OrderAdmin
from commerce.orders.models import Order
from commerce.payments.models import Payment, PaymentWebhookEvent, Refund


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("created_at", "method", "status", "amount", "refunded_amount", "failure_code", "intent_id")
    readonly_fields = fields


admin.site.unregister(Order)


@admin.register(Order)
class OrderWithPaymentsAdmin(OrderAdmin):
    inlines = [*OrderAdmin.inlines, PaymentInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "method", "status", "amount", "refunded_amount", "created_at")
    list_filter = ("status", "method", "gateway")
    search_fields = ("intent_id", "order__number")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("id", "payment", "amount", "reason", "actor", "created_at")


@admin.register(PaymentWebhookEvent)
class PaymentWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "gateway", "type", "result", "received_at")
    list_filter = ("gateway", "result")
