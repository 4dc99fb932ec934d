"""Celery tasks of the chat."""

from __future__ import annotations

from celery import shared_task

from chat.models import ChatAttachment
from chat.services import notify_recipients
from threads.images import purge_unsent


@shared_task(name="chat.tasks.notify_new_message", ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=3)
def notify_new_message(*, message_id: str, recipient_ids: list[str]) -> int:
    """Create the ``chat.message`` notification of a message for recipients who had no socket on
    the conversation (queued after commit by ``chat.services.message_send``). Returns the count."""
    return notify_recipients(message_id=message_id, recipient_ids=recipient_ids)


@shared_task(name="chat.tasks.purge_orphan_attachments", ignore_result=True)
def purge_orphan_attachments(*, older_than_hours: int = 24) -> int:
    """Delete uploaded images never attached to a message within ``older_than_hours`` (beat:
    hourly). Returns how many were deleted."""
    return purge_unsent(ChatAttachment.objects.all(), older_than_hours=older_than_hours)
