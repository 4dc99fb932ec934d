"""Celery tasks of support tickets (beat: ``support-flag-overdue`` every minute,
``support-close-resolved`` and ``support-purge-orphan-attachments`` hourly)."""

from __future__ import annotations

from celery import shared_task

from support.models import TicketAttachment
from support.services import close_resolved_tickets, flag_overdue_tickets
from threads.images import purge_unsent


@shared_task(name="support.tasks.flag_overdue", ignore_result=True)
def flag_overdue() -> int:
    """Flag tickets past their first-response target and notify agents. Returns the count."""
    return flag_overdue_tickets()


@shared_task(name="support.tasks.close_resolved", ignore_result=True)
def close_resolved() -> int:
    """Close tickets whose reopen window has passed. Returns the count."""
    return close_resolved_tickets()


@shared_task(name="support.tasks.purge_orphan_attachments", ignore_result=True)
def purge_orphan_attachments(*, older_than_hours: int = 24) -> int:
    """Delete ticket images never sent within ``older_than_hours``. Returns the count."""
    return purge_unsent(TicketAttachment.objects.all(), older_than_hours=older_than_hours)
