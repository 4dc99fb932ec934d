"""Admin bases shared by the commerce rooms: money and order state change only through the
services (locks, ledger, events), so their admin pages are read-only."""

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """A tabular inline that shows rows and changes nothing."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and order state change only through ``commerce`` services (locks, ledger, events),
    so the admin shows them read-only; staff act through the API (status, refunds)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
