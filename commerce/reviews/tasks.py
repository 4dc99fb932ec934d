"""Celery tasks of the reviews room (names ``commerce.tasks.*`` like the other rooms')."""

from __future__ import annotations

from celery import shared_task

from commerce.reviews.services import review_photos_purge


@shared_task(name="commerce.tasks.purge_review_photos", acks_late=True, ignore_result=True)
def purge_review_photos() -> int:
    """Beat, hourly: delete review photos uploaded more than a day ago and never attached."""
    return review_photos_purge()
