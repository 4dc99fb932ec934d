"""Celery tasks of the orders room: reservation expiry (an ETA task per checkout plus a beat
sweep). Task names keep the ``commerce.tasks.*`` names they had before the rooms: queued ETA
tasks and the beat schedule (``CELERY_BEAT_SCHEDULE``) name them."""

from __future__ import annotations

from celery import shared_task

from commerce.orders.checkout import checkout_expire, checkouts_expire_due


@shared_task(name="commerce.tasks.expire_checkout", acks_late=True, ignore_result=True)
def expire_checkout(checkout_id: str) -> bool:
    """Expire one checkout at its ``expires_at`` (idempotent; see ``checkout_expire``)."""
    return checkout_expire(checkout_id=checkout_id)


@shared_task(name="commerce.tasks.expire_reservations_sweep", acks_late=True, ignore_result=True)
def expire_reservations_sweep() -> int:
    """Beat, every 30 s: expire every checkout past due whose ETA task was lost or late."""
    return checkouts_expire_due()
