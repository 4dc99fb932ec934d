"""Celery tasks of the payments room: escrow release at the end of the buyer-protection window
(an ETA task plus a beat sweep) and payment reconciliation (beat). Task names keep the
``commerce.tasks.*`` names they had before the rooms: queued ETA tasks and the beat schedule
(``CELERY_BEAT_SCHEDULE``) name them."""

from __future__ import annotations

from celery import shared_task

from commerce.payments.escrow import escrow_release_due, escrows_release_due
from commerce.payments.services import payments_reconcile


@shared_task(name="commerce.tasks.release_escrow", acks_late=True, ignore_result=True)
def release_escrow(order_id: str) -> bool:
    """Release one order's escrow at the end of its buyer-protection window (idempotent; see
    ``commerce.payments.escrow.escrow_release_due``: a dispute opened meanwhile keeps it held)."""
    return escrow_release_due(order_id=order_id)


@shared_task(name="commerce.tasks.release_escrows_sweep", acks_late=True, ignore_result=True)
def release_escrows_sweep() -> dict:
    """Beat, every minute: release every escrow whose window passed and that no dispute freezes."""
    return escrows_release_due()


@shared_task(name="commerce.tasks.reconcile_payments", acks_late=True, ignore_result=True)
def reconcile_payments() -> dict:
    """Beat, every minute: refund unapplied charges and settle card attempts left pending."""
    return payments_reconcile()
