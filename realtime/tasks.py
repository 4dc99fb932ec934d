"""Celery tasks of the realtime gateway."""

from celery import shared_task

from realtime import outbox


@shared_task(name="realtime.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Publish outbox events a crash left behind (beat: every 2 s)."""
    return outbox.sweep()


@shared_task(name="realtime.tasks.purge_outbox", ignore_result=True)
def purge_outbox() -> int:
    """Delete outbox rows published more than ``OUTBOX_RETENTION_HOURS`` ago (beat: hourly)."""
    return outbox.purge()
