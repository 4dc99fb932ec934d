"""Celery tasks of support tickets (beat: ``support-flag-overdue`` every minute,
``support-close-resolved`` hourly)."""

from __future__ import annotations

from celery import shared_task

from support.services import close_resolved_tickets, flag_overdue_tickets


@shared_task(name="support.tasks.flag_overdue", ignore_result=True)
def flag_overdue() -> int:
    """Flag tickets past their first-response target and notify agents. Returns the count."""
    return flag_overdue_tickets()


@shared_task(name="support.tasks.close_resolved", ignore_result=True)
def close_resolved() -> int:
    """Close tickets whose reopen window has passed. Returns the count."""
    return close_resolved_tickets()
