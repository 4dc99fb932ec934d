"""Celery tasks of the returns room (names ``commerce.tasks.*`` like the other rooms')."""

from __future__ import annotations

from celery import shared_task

from commerce.returns.services import return_photos_purge


@shared_task(name="commerce.tasks.purge_return_photos", acks_late=True, ignore_result=True)
def purge_return_photos() -> int:
    """Beat, hourly: delete return photos uploaded more than a day ago and never attached."""
    return return_photos_purge()
