"""Django admin of support tickets: the tickets with their thread and internal notes (read-only:
tickets move through the services, over REST and the socket)."""

from __future__ import annotations

from django.contrib import admin

from support.models import Ticket, TicketMessage, TicketNote


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    max_num = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = readonly_fields = ["seq", "sender", "sender_side", "text", "attachment", "created_at"]
    ordering = ["seq"]


class NoteInline(ReadOnlyInline):
    model = TicketNote
    fields = readonly_fields = ["author", "text", "created_at"]
    verbose_name_plural = "internal notes (staff only)"


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["subject", "status", "priority", "category", "requester", "requester_role", "assignee",
                    "first_response_due_at", "sla_breached_at", "created_at"]
    list_filter = ["status", "priority", "category", "requester_role", ("sla_breached_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "requester__email", "id"]
    list_select_related = ["requester", "assignee"]
    ordering = ["status", "-created_at"]
    readonly_fields = ["id", "requester", "requester_role", "vendor", "category", "priority", "subject", "status",
                       "assignee", "order", "delivery", "last_seq", "last_message_at", "first_response_due_at",
                       "first_response_at", "sla_breached_at", "resolved_at", "closed_at", "created_at", "updated_at"]
    fields = readonly_fields
    inlines = [MessageInline, NoteInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
