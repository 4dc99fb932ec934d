"""Admin of shipping: stores' zones and methods (read and fix by marketplace staff; stores use
the API, which refreshes carts)."""

from django.contrib import admin

from commerce.shipping.models import ShippingMethod, ShippingWeightBand, ShippingZone


class ShippingWeightBandInline(admin.TabularInline):
    model = ShippingWeightBand
    extra = 0


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "rest_of_world", "updated_at"]
    search_fields = ["name", "vendor__name"]
    raw_id_fields = ["vendor"]


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "zone", "rule", "price", "currency", "free_above", "is_active"]
    list_filter = ["rule", "is_active"]
    search_fields = ["name", "vendor__name"]
    raw_id_fields = ["vendor", "zone"]
    inlines = [ShippingWeightBandInline]
