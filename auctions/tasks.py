"""Celery tasks of auctions: an ETA task at each start and (effective) end, and a beat sweep every
second that starts, closes and announces whatever is due (all idempotent under row locks)."""

from __future__ import annotations

from celery import shared_task

from auctions import services
from auctions.services import auction_close, auction_start


@shared_task(acks_late=True, ignore_result=True)
def close_auction(auction_id: str) -> bool:
    """Close one auction at its end (no-op if it was extended, or closed already)."""
    return auction_close(auction_id=auction_id)


@shared_task(acks_late=True, ignore_result=True)
def start_auction(auction_id: str) -> bool:
    return auction_start(auction_id=auction_id)


@shared_task(ignore_result=True)
def auctions_tick() -> dict:
    """Beat, every second: start due auctions, close ended ones, send ending-soon notices."""
    return {
        "started": services.auctions_start_due(),
        "closed": services.auctions_close_due(),
        "ending_soon": services.auctions_notify_ending_soon(),
    }
