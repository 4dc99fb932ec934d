"""Django admin: notifications (read-only state, created only through ``notify``), email
deliveries, digests, counters and preferences. Deleting notifications recounts their recipients."""

from __future__ import annotations

from django.contrib import admin, messages

from notifications import services
from notifications.models import (
    EmailDigest,
    Notification,
    NotificationCounter,
    NotificationDelivery,
    NotificationPreference,
    NotificationSettings,
)


class DeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    extra = 0
    can_delete = False
    fields = ("channel", "status", "attempts", "sent_at", "digest", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "recipient", "critical", "in_app", "created_at", "seen_at", "read_at", "archived_at")
    list_filter = ("kind", "critical", "in_app", ("read_at", admin.EmptyFieldListFilter),
                   ("archived_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("title", "body", "recipient__email", "=id")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient",)
    readonly_fields = ("id", "recipient", "kind", "title", "body", "data", "target_content_type", "target_object_id",
                       "critical", "in_app", "created_at", "seen_at", "read_at", "archived_at")
    inlines = [DeliveryInline]
    actions = ["recount_recipients"]

    def has_add_permission(self, request) -> bool:
        return False  # notifications come from notifications.services.notify

    def delete_model(self, request, obj) -> None:
        user_id = obj.recipient_id
        super().delete_model(request, obj)
        services.recount(user_ids=[user_id])

    def delete_queryset(self, request, queryset) -> None:
        user_ids = set(queryset.values_list("recipient_id", flat=True))
        super().delete_queryset(request, queryset)
        services.recount(user_ids=user_ids)

    @admin.action(description="Recount unread/unseen of the recipients (and push the counts)")
    def recount_recipients(self, request, queryset) -> None:
        fixed = services.recount(user_ids=set(queryset.values_list("recipient_id", flat=True)))
        self.message_user(request, f"{fixed} counter(s) corrected.", messages.SUCCESS)


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(admin.ModelAdmin):
    list_display = ("notification", "channel", "status", "attempts", "created_at", "sent_at", "digest")
    list_filter = ("channel", "status", "created_at")
    search_fields = ("notification__recipient__email", "notification__title", "=notification__id")
    list_select_related = ("notification",)
    readonly_fields = ("notification", "channel", "status", "digest", "attempts", "last_error", "created_at", "sent_at")
    actions = ["requeue"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Queue the email again (pending or failed only; never sends twice)")
    def requeue(self, request, queryset) -> None:
        rows = queryset.filter(status__in=[NotificationDelivery.Status.PENDING, NotificationDelivery.Status.FAILED])
        ids = list(rows.values_list("notification_id", flat=True))
        rows.filter(status=NotificationDelivery.Status.FAILED).update(status=NotificationDelivery.Status.PENDING)
        services.enqueue_emails(ids)
        self.message_user(request, f"{len(ids)} email(s) queued.", messages.SUCCESS)


@admin.register(EmailDigest)
class EmailDigestAdmin(admin.ModelAdmin):
    list_display = ("user", "notification_count", "created_at", "sent_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    readonly_fields = ("id", "user", "notification_count", "created_at", "sent_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(NotificationCounter)
class NotificationCounterAdmin(admin.ModelAdmin):
    list_display = ("user", "unread", "unseen", "updated_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    readonly_fields = ("user", "unread", "unseen", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "channel", "enabled", "updated_at")
    list_filter = ("kind", "channel", "enabled")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "email_digest", "last_digest_at")
    list_filter = ("email_digest",)
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
