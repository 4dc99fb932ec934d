"""Django admin of the chat: staff see messages as they were typed (``original_text``) next to
what participants see (masked), and work the report queue (open reports first)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.text import Truncator

from chat import services
from chat.models import (
    ChatAttachment,
    ChatBlock,
    ChatReadState,
    ChatReport,
    Conversation,
    Message,
    ReportStatus,
)
from core.exceptions import ApplicationError


def _short(text: str | None, n: int = 80) -> str:
    return Truncator(text or "").chars(n)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Chat facts are written by the services only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    fk_name = "conversation"
    extra = 0
    ordering = ["-seq"]
    fields = ["seq", "sender", "sender_side", "original_text", "text", "masked_kinds", "deleted", "created_at", "edited_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sender")


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["id", "buyer", "vendor", "context_type", "context_title", "last_seq", "last_message_at", "created_at"]
    list_filter = ["context_type"]
    search_fields = ["id", "buyer__email", "vendor__name", "context_title"]
    list_select_related = ["buyer", "vendor"]
    readonly_fields = ["id", "buyer", "vendor", "context_type", "context_id", "context_title", "last_seq",
                       "last_message", "last_message_at", "created_at"]
    fields = readonly_fields
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["conversation", "seq", "sender", "sender_side", "original_excerpt", "masked_kinds", "deleted", "created_at"]
    list_filter = ["sender_side", "deleted", "created_at"]
    search_fields = ["original_text", "sender__email", "conversation__id"]
    list_select_related = ["sender"]
    readonly_fields = ["id", "conversation", "seq", "sender", "sender_side", "original_text", "text", "masked_kinds",
                       "client_msg_id", "image", "created_at", "edited_at", "deleted", "deleted_at"]
    fields = readonly_fields

    @admin.display(description="original text (staff only)")
    def original_excerpt(self, obj: Message) -> str:
        return _short(obj.original_text)


@admin.register(ChatReport)
class ChatReportAdmin(admin.ModelAdmin):
    """The moderation queue: filter by status (open first), act in bulk."""

    list_display = ["created_at", "status", "reason", "reporter", "reported_sender", "reported_excerpt", "handled_by"]
    list_filter = ["status", "reason"]
    search_fields = ["reported_text", "reporter__email", "message__sender__email"]
    list_select_related = ["reporter", "message__sender", "handled_by"]
    ordering = ["status", "-created_at"]
    readonly_fields = ["id", "message", "reporter", "reason", "comment", "reported_text", "masked_text", "status",
                       "created_at", "handled_at", "handled_by"]
    fields = readonly_fields + ["staff_note"]
    actions = ["resolve", "dismiss", "reopen"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="sender")
    def reported_sender(self, obj: ChatReport):
        return obj.message.sender

    @admin.display(description="reported text (original)")
    def reported_excerpt(self, obj: ChatReport) -> str:
        return _short(obj.reported_text)

    @admin.display(description="what participants saw")
    def masked_text(self, obj: ChatReport) -> str:
        return obj.message.text

    def _set(self, request, queryset, status: str) -> None:
        try:
            n = services.report_set_status(report_ids=queryset.values_list("pk", flat=True), status=status, actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return
        self.message_user(request, f"{n} report(s) marked {status}.")

    @admin.action(description="Mark selected reports resolved (action taken)")
    def resolve(self, request, queryset):
        self._set(request, queryset, ReportStatus.RESOLVED)

    @admin.action(description="Dismiss selected reports")
    def dismiss(self, request, queryset):
        self._set(request, queryset, ReportStatus.DISMISSED)

    @admin.action(description="Reopen selected reports")
    def reopen(self, request, queryset):
        self._set(request, queryset, ReportStatus.OPEN)


@admin.register(ChatBlock)
class ChatBlockAdmin(admin.ModelAdmin):
    list_display = ["buyer", "vendor", "side", "created_by", "created_at"]
    list_filter = ["side"]
    search_fields = ["buyer__email", "vendor__name"]
    raw_id_fields = ["buyer", "vendor", "created_by", "conversation"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChatReadState)
class ChatReadStateAdmin(ReadOnlyAdmin):
    list_display = ["conversation", "user", "last_read_seq", "unread", "updated_at"]
    search_fields = ["user__email", "conversation__id"]


@admin.register(ChatAttachment)
class ChatAttachmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "conversation", "uploaded_by", "content_type", "size", "created_at"]
    search_fields = ["uploaded_by__email", "conversation__id"]
