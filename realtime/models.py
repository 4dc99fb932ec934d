"""The transactional outbox: events written in the same transaction as the facts they announce."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    """One realtime event waiting to be, or already, published to its topic.

    ``event_id`` makes re-publishing harmless (the relay refuses an id it has already sent);
    ``seq`` is the per-topic sequence number Redis assigned at publish time. Rows are written by
    :func:`realtime.outbox.publish` and purged ``OUTBOX_RETENTION_HOURS`` after publication.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.CharField(max_length=100)
    type = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["topic", "id"], condition=Q(published_at__isnull=True), name="rt_outbox_pending"),
            models.Index(fields=["published_at"], name="rt_outbox_published"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.type} ({'published' if self.published_at else 'pending'})"
