"""Celery tasks of commerce: reservation expiry (an ETA task per checkout plus a beat sweep)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def expire_checkout(checkout_id: str) -> bool:
    """Expire one checkout at its ``expires_at`` (idempotent; see ``checkout_expire``)."""
    from commerce.checkout import checkout_expire

    return checkout_expire(checkout_id=checkout_id)


@shared_task(acks_late=True, ignore_result=True)
def expire_reservations_sweep() -> int:
    """Beat, every 30 s: expire every checkout past due whose ETA task was lost or late."""
    from commerce.checkout import checkouts_expire_due

    return checkouts_expire_due()
