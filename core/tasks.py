"""Celery tasks of core."""

from __future__ import annotations

from celery import shared_task

from core.idempotency import purge_expired


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Beat, hourly: delete ``Idempotency-Key`` records older than ``IDEMPOTENCY_KEY_TTL_SECONDS``."""
    return purge_expired()
