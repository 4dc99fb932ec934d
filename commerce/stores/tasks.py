"""Celery tasks of the stores room: geocoding a store's address into its pickup point (queued
after commit by ``commerce.stores.services`` when the geocoder of ``STORE_GEOCODER`` is on)."""

from __future__ import annotations

from celery import shared_task

from commerce.stores.services import pickup_point_geocode


@shared_task(name="commerce.tasks.geocode_pickup_point", acks_late=True, ignore_result=True)
def geocode_pickup_point(vendor_id: str) -> bool:
    """Geocode one store's address into its pickup point (``pickup_point_geocode``: superseded
    runs write nothing). Returns whether the point was updated."""
    return pickup_point_geocode(vendor_id=vendor_id) is not None
