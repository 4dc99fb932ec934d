"""Celery tasks of delivery: the throttle's flush, the 1 s tick (flush + stale couriers) and the
daily purge of old positions."""

from __future__ import annotations

from celery import shared_task

from delivery.services import deliveries_tick as tick
from delivery.services import delivery_flush_location, positions_purge


@shared_task(ignore_result=True)
def flush_location(delivery_id: str) -> bool:
    """Send the newest point the 2 s throttle held back (no-op if already sent)."""
    return delivery_flush_location(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def deliveries_tick() -> dict:
    return tick()


@shared_task(ignore_result=True)
def purge_positions() -> int:
    """Beat, daily: delete positions older than ``DELIVERY_POSITION_RETENTION_DAYS``."""
    return positions_purge()
