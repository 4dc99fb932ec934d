"""Pickup points from store addresses: the pluggable geocoder.

Geocoding an address needs a network service (Nominatim, Google, Mapbox...), so it is **off by
default**: a store sets its pickup point's coordinates by hand. An operator turns it on with the
setting ``STORE_GEOCODER``, the dotted path of a callable::

    def geocode(address: dict[str, str]) -> tuple[float, float] | None

``address`` is ``Vendor.address_dict()`` (``line1``, ``line2``, ``postal_code``, ``city``,
``region``, ``country`` as ISO 3166-1 alpha-2); the answer is ``(latitude, longitude)`` in
decimal degrees (WGS 84), or None when the address is not found. It runs in a Celery task
(``commerce.stores.tasks.geocode_pickup_point``), never in a request, and must bound its own
network time. An exception it raises is logged and leaves the pickup point as it was. A wrapper
around geopy (``geopy.geocoders.Nominatim(user_agent=...).geocode(query, timeout=5)``) is a few
lines; mind the provider's usage policy.
"""

from __future__ import annotations

from typing import Callable

from django.conf import settings
from django.utils.module_loading import import_string

Geocoder = Callable[[dict[str, str]], "tuple[float, float] | None"]


def configured_geocoder() -> Geocoder | None:
    """The callable named by ``STORE_GEOCODER``, or None when geocoding is off (the default).
    Raises ``ImportError`` for a path that does not import (a configuration error)."""
    path = getattr(settings, "STORE_GEOCODER", "") or ""
    return import_string(path) if path else None


def address_is_geocodable(address: dict[str, str]) -> bool:
    """True when ``address`` names at least a street line, a city and a country (what any
    geocoder needs to find a door rather than a region)."""
    return bool(address.get("line1") and address.get("city") and address.get("country"))
