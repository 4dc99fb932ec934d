"""Notifications: the in-app inbox, per-user counters, preferences and email deliveries.

Rows are written only by :mod:`notifications.services` (``notify`` and the state changes), which
keep :class:`NotificationCounter` equal to the truth under a per-user row lock.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone

from notifications.kinds import CHANNELS, KIND_MAX_LENGTH


class Notification(models.Model):
    """One notification for one recipient.

    ``kind`` is a registered kind (``notifications.kinds``); ``data`` is JSON for the client to
    deep-link (e.g. ``{"order_id": "…"}``); ``target`` optionally points at the object it is about.
    ``in_app`` is False when the recipient switched the in-app channel off for the kind: the row
    then only records an email and never shows in the inbox or the counts. State timestamps:
    ``seen_at`` (the bell was opened; reading also sets it), ``read_at``, ``archived_at``.
    *Unread* = visible (``in_app``), not archived, ``read_at`` null; *unseen* likewise with
    ``seen_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=KIND_MAX_LENGTH)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    target_content_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target_object_id = models.CharField(max_length=64, blank=True, default="")
    target = GenericForeignKey("target_content_type", "target_object_id")
    critical = models.BooleanField(default=False)
    in_app = models.BooleanField(default=True, help_text="Shown in the inbox (the in-app channel was on).")
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notif_inbox"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, archived_at__isnull=True, in_app=True),
                name="notif_unread",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(seen_at__isnull=True, archived_at__isnull=True, in_app=True),
                name="notif_unseen",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}: {self.title}"


class NotificationCounter(models.Model):
    """Per-user ``unread`` / ``unseen`` counts of the inbox, O(1) to read.

    Also the per-user lock: every service that changes a user's notifications first locks this
    row (``select_for_update``), so changes and their ``notification.counts`` events are
    serialised per user and the last event carries the committed truth.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_counter"
    )
    unread = models.PositiveIntegerField(default=0)
    unseen = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: unread={self.unread} unseen={self.unseen}"


class NotificationPreference(models.Model):
    """A user's choice for one (kind, channel); without a row the kind's default applies."""

    CHANNEL_CHOICES = [(c, c) for c in CHANNELS]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=KIND_MAX_LENGTH)
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notif_pref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}/{self.channel}={'on' if self.enabled else 'off'}"


class NotificationSettings(models.Model):
    """Per-user options beyond (kind, channel): the daily email digest.

    With ``email_digest`` on, non-critical notifications are not emailed one by one; the daily
    digest lists those that stayed unread. ``last_digest_at`` is when the last digest was sent.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_settings"
    )
    email_digest = models.BooleanField(default=False)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"{self.user_id}: digest={'on' if self.email_digest else 'off'}"


class EmailDigest(models.Model):
    """One daily digest email sent to a user; its notifications are linked by their deliveries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_digests")
    notification_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"digest {self.user_id} {self.created_at:%Y-%m-%d} ({self.notification_count})"


class NotificationDelivery(models.Model):
    """The record that makes email idempotent: at most one row, hence one email, per
    (notification, channel). ``digest`` is set when the notification went out in a digest.

    Status: ``pending`` (queued), ``sent``, ``failed`` (last attempt failed; retried until
    ``max_retries``), ``skipped`` (not sent: the user switched email off meanwhile, is inactive or
    has no address).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    CHANNEL_CHOICES = [(c, c) for c in CHANNELS]

    id = models.BigAutoField(primary_key=True)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    digest = models.ForeignKey(EmailDigest, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="notif_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="notif_delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}: {self.status}"
