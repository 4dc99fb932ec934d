"""Admin of stores. Status changes go through the service (roles granted, carts refreshed)."""

from django.contrib import admin, messages

from core.exceptions import ApplicationError

from commerce.stores import services
from commerce.stores.models import Vendor, VendorStaff, VendorStatus


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
