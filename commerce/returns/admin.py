"""Admin of returns: the returns read-only with their lines, photos and history (state and money
change only through the API, under the locks), the stores' return policies editable by staff."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin, ReadOnlyInline
from commerce.returns.models import ReturnLine, ReturnPhoto, ReturnPolicy, ReturnRequest, ReturnStatusChange


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ("order_line", "quantity", "grade", "restocked_quantity", "paid_amount", "restocking_fee",
              "refund_amount")
    readonly_fields = fields


class ReturnPhotoInline(ReadOnlyInline):
    model = ReturnPhoto
    fields = ("id", "content_type", "width", "height", "size", "created_at")
    readonly_fields = fields


class ReturnStatusChangeInline(ReadOnlyInline):
    model = ReturnStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ReadOnlyAdmin):
    """Returns with their lines, photos and audit trail. Stores and staff act through the API
    (``/api/v1/returns/{id}/approve/``, ``inspect/``, ``refund/``...); escalations are disputes."""

    list_display = ("number", "order", "status", "reason", "transport", "refund_amount", "refund_source",
                    "created_at", "refunded_at")
    list_filter = ("status", "reason", "transport", "refund_source")
    search_fields = ("number", "order__number", "order__buyer__email", "tracking_number")
    inlines = [ReturnLineInline, ReturnPhotoInline, ReturnStatusChangeInline]


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    """A store's return rules (window, restocking fee maximum, resellable grades). The API checks
    the same limits (``commerce.returns.services.return_policy_update``)."""

    list_display = ("vendor", "window_days", "restocking_fee_max_percent", "resellable_grades", "updated_at")
    search_fields = ("vendor__name",)
    raw_id_fields = ("vendor",)
    readonly_fields = ("updated_by", "updated_at")
