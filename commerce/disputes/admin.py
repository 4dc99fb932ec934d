"""Admin of disputes (read-only: staff decide through the API, which moves the money under the
locks)."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin, ReadOnlyInline
from commerce.disputes.models import Dispute, DisputeStatement


class DisputeStatementInline(ReadOnlyInline):
    model = DisputeStatement
    fields = ("created_at", "role", "author", "text")
    readonly_fields = fields


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """Disputes with their statements and audit fields. Staff decide them through the API
    (``POST /api/v1/disputes/{id}/resolve/``), which moves the money under the locks."""

    list_display = ("id", "order", "status", "reason", "claimed_amount", "currency", "source", "created_at",
                    "store_responded_at", "resolved_at")
    list_filter = ("status", "reason", "source")
    search_fields = ("order__number", "opened_by__email", "description")
    inlines = [DisputeStatementInline]
