"""Admin of invoices: issued documents are read-only (a number once issued never changes)."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin
from commerce.invoices.models import CreditNote, Invoice, InvoiceCounter


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "vendor", "order", "issued_at", "gross_total", "tax_total", "currency"]
    list_filter = ["year"]
    search_fields = ["number", "vendor__name", "order__number"]


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ["number", "vendor", "invoice", "issued_at", "gross_total", "tax_total", "currency"]
    list_filter = ["year"]
    search_fields = ["number", "vendor__name", "invoice__number"]


@admin.register(InvoiceCounter)
class InvoiceCounterAdmin(ReadOnlyAdmin):
    list_display = ["vendor", "kind", "year", "last_number"]
    list_filter = ["kind", "year"]
