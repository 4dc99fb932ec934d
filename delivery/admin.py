"""Admin pages of delivery: deliveries (every attempt of an order, read-only: statuses move only
through ``delivery.services``, which also move the order). Pickup points are the stores' (``commerce.stores``)."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin
from delivery.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "attempt", "mode", "status", "courier", "claimed_at", "delivered_at", "created_at")
    list_filter = ("status", "mode")
    search_fields = ("order__number", "courier__email")
    exclude = ("pin",)  # the buyer's proof; support resets a locked PIN through the API

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Delivery._meta.fields if f.name != "pin"]
