"""Celery tasks of delivery: the throttle's flush, the 1 s tick (flush + stale couriers) and the
daily purge of old positions."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def flush_location(delivery_id: str) -> bool:
    """Send the newest point the 2 s throttle held back (no-op if already sent)."""
    from delivery.services import delivery_flush_location

    return delivery_flush_location(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def deliveries_tick() -> dict:
    from delivery.services import deliveries_tick as tick

    return tick()


@shared_task(ignore_result=True)
def purge_positions() -> int:
    """Beat, daily: delete positions older than ``DELIVERY_POSITION_RETENTION_DAYS``."""
    from delivery.services import positions_purge

    return positions_purge()
