"""Admin of tax: marketplace staff keep the rates table (a rate change is a new row with its
``valid_from``); stores' settings are read here and changed through the API."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin
from commerce.tax.models import StoreTaxSettings, TaxRate


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["country", "tax_class", "rate", "valid_from", "name"]
    list_filter = ["tax_class", "country"]
    search_fields = ["country", "name"]
    ordering = ["country", "tax_class", "-valid_from"]


@admin.register(StoreTaxSettings)
class StoreTaxSettingsAdmin(ReadOnlyAdmin):
    list_display = ["vendor", "prices_include_tax", "updated_at"]
    list_filter = ["prices_include_tax"]
