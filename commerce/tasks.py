"""Celery tasks of commerce: reservation expiry (an ETA task per checkout plus a beat sweep), escrow
release at the end of the buyer-protection window (an ETA task plus a beat sweep), and payment
reconciliation (beat)."""

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


@shared_task(acks_late=True, ignore_result=True)
def release_escrow(order_id: str) -> bool:
    """Release one order's escrow at the end of its buyer-protection window (idempotent; see
    ``commerce.escrow.escrow_release_due``: a dispute opened meanwhile keeps it held)."""
    from commerce.escrow import escrow_release_due

    return escrow_release_due(order_id=order_id)


@shared_task(acks_late=True, ignore_result=True)
def release_escrows_sweep() -> dict:
    """Beat, every minute: release every escrow whose window passed and that no dispute freezes."""
    from commerce.escrow import escrows_release_due

    return escrows_release_due()


@shared_task(acks_late=True, ignore_result=True)
def reconcile_payments() -> dict:
    """Beat, every minute: refund unapplied charges and settle card attempts left pending."""
    from commerce.payments import payments_reconcile

    return payments_reconcile()
