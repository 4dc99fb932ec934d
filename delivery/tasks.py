"""Celery tasks of delivery: the 1 s tick (the throttle's flush and the persistence backstop
behind the gateways' workers, stale couriers) and the daily purge of old positions."""

from __future__ import annotations

from celery import shared_task

from delivery.services import deliveries_tick as tick
from delivery.services import positions_purge


@shared_task(ignore_result=True)
def deliveries_tick() -> dict:
    return tick()


@shared_task(ignore_result=True)
def purge_positions() -> int:
    """Beat, daily: delete positions older than ``DELIVERY_POSITION_RETENTION_DAYS``."""
    return positions_purge()
