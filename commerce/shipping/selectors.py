"""Reads of the shipping room: which of a store's methods can ship a parcel to an address, and
at what price (the rules are in :mod:`commerce.shipping.models`).

The cart shows every store's offer for the buyer's default shipping address
(:func:`quotes_for_baskets`); checkout asks the same function under its locks and refuses a
method that is not offered any more. A method is *unavailable* for a parcel with one of these
reasons (the ``reason`` of a :class:`Quote`, and of checkout's 409
``shipping_method_unavailable``):

``inactive`` (the store switched it off), ``zone`` (the address is outside its zone),
``currency`` (the method charges in another currency than the basket), ``weight_unknown`` (a
product has no weight: a weight method cannot price it), ``too_heavy`` (above the last band),
``no_coordinates`` (courier: the address has no latitude/longitude), ``too_far`` (courier:
beyond ``max_distance_m``).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from django.db.models import Prefetch

from core.geo import haversine_m

from commerce.common.money import money
from commerce.shipping.hooks import store_pickup_point
from commerce.shipping.models import ShippingMethod, ShippingRule, ShippingWeightBand, ShippingZone

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Destination:
    """Where a parcel goes: ``country`` (ISO 3166-1 alpha-2), ``postal_code``, ``region`` and
    optional coordinates (decimal degrees)."""

    country: str
    postal_code: str = ""
    region: str = ""
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def of(cls, address: Any) -> "Destination":
        """From a ``core.models.Address`` or an order's address snapshot (a dict)."""
        get = address.get if isinstance(address, Mapping) else (lambda k, d=None: getattr(address, k, d))
        lat, lon = get("latitude"), get("longitude")
        try:
            lat, lon = (float(lat), float(lon)) if lat not in (None, "") and lon not in (None, "") else (None, None)
        except (TypeError, ValueError):
            lat, lon = None, None
        return cls(country=str(get("country") or "").upper(), postal_code=str(get("postal_code") or ""),
                   region=str(get("region") or ""), latitude=lat, longitude=lon)


@dataclass(frozen=True)
class Item:
    """``quantity`` units of a product: ``weight_g`` grams and ``dims_mm`` (length, width,
    height) millimetres per unit, None when unknown."""

    quantity: int
    weight_g: int | None
    dims_mm: tuple[int | None, int | None, int | None] = (None, None, None)

    @classmethod
    def of(cls, product: Any, quantity: int) -> "Item":
        return cls(quantity=quantity, weight_g=product.weight_g,
                   dims_mm=(product.length_mm, product.width_mm, product.height_mm))


@dataclass(frozen=True)
class Basket:
    """One store's part of a cart: ``value`` is the sum of its lines at the prices as the store
    lists them (``Decimal``, ``currency``), ``items`` what goes in the parcel."""

    vendor_id: uuid.UUID
    currency: str
    value: Decimal
    items: tuple[Item, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Quote:
    """What ``method`` would charge for a basket: ``price`` (``Decimal``) when available, else
    None and ``reason`` (module docstring); ``weight_g`` the chargeable weight a weight method
    priced, ``distance_m`` the courier's distance."""

    method: ShippingMethod
    price: Decimal | None
    reason: str = ""
    weight_g: int | None = None
    distance_m: int | None = None

    @property
    def available(self) -> bool:
        return self.price is not None


# --- zones -----------------------------------------------------------------------------------


def normalize_postcode(code: str) -> str:
    """A postcode as zones compare it: upper case, without spaces (``"sw1a 1aa" -> "SW1A1AA"``)."""
    return "".join(str(code or "").split()).upper()


def postcode_matches(pattern: str, code: str) -> bool:
    """Whether ``code`` matches a zone's postcode ``pattern``: exact (``10115``), a prefix
    (``10*``) or an inclusive range of codes of the same length (``10000-14999``); compared as
    :func:`normalize_postcode` gives them (ranges by character, which orders digits right)."""
    code, pattern = normalize_postcode(code), normalize_postcode(pattern)
    if not code or not pattern:
        return False
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1])
    if "-" in pattern and len(pattern.split("-")) == 2:
        low, high = pattern.split("-")
        return len(code) == len(low) == len(high) and low <= code <= high
    return code == pattern


def zone_matches(zone: ShippingZone, destination: Destination, *, listed_countries: set[str]) -> bool:
    """Whether ``destination`` is in ``zone``. ``listed_countries``: every country the store's
    zones list (a ``rest_of_world`` zone takes the others)."""
    if zone.rest_of_world:
        return bool(destination.country) and destination.country not in listed_countries
    if destination.country not in {c.code for c in zone.countries}:
        return False
    if zone.regions and destination.region.strip().casefold() not in {r.strip().casefold() for r in zone.regions}:
        return False
    if zone.postcodes and not any(postcode_matches(p, destination.postal_code) for p in zone.postcodes):
        return False
    return True


# --- prices ----------------------------------------------------------------------------------


def chargeable_weight_g(items: Iterable[Item], *, volumetric_divisor: int | None) -> int | None:
    """The parcel's weight in grams: per unit its weight, or with ``volumetric_divisor`` (cm³
    per kg) its volumetric weight ``length x width x height (mm³) / divisor`` when that is
    larger (a unit without all three dimensions counts by weight), times the quantity. None when
    a unit's weight is unknown."""
    total = 0
    for item in items:
        if item.weight_g is None:
            return None
        unit = item.weight_g
        if volumetric_divisor and all(item.dims_mm):
            length, width, height = item.dims_mm
            unit = max(unit, math.ceil(length * width * height / volumetric_divisor))
        total += unit * item.quantity
    return total


def band_price(bands: Iterable[ShippingWeightBand], weight_g: int) -> Decimal | None:
    """The price of the first band (by ``max_weight_g``) that holds ``weight_g``, else None."""
    for band in sorted(bands, key=lambda b: b.max_weight_g):
        if weight_g <= band.max_weight_g:
            return band.price
    return None


def courier_fee(method: ShippingMethod, distance_m: float) -> Decimal:
    """``price`` plus ``price_per_km`` for every started kilometre of ``distance_m`` (1 m to
    1,000 m is one kilometre; 0 m none)."""
    km = math.ceil(distance_m / 1000) if distance_m > 0 else 0
    return money(method.price + (method.price_per_km or ZERO) * km)


def quote(method: ShippingMethod, basket: Basket, destination: Destination, *, listed_countries: set[str],
          pickup: tuple[float, float] | None = None) -> Quote:
    """What ``method`` charges for ``basket`` sent to ``destination`` (see the module docstring
    for the reasons it may not be offered). ``pickup`` is the store's pickup point (courier
    methods). Uses ``method.zone`` and ``method.weight_bands`` (prefetch them)."""
    if not method.is_active:
        return Quote(method, None, "inactive")
    if not zone_matches(method.zone, destination, listed_countries=listed_countries):
        return Quote(method, None, "zone")
    if method.currency != basket.currency:
        return Quote(method, None, "currency")
    weight = distance = None
    if method.rule == ShippingRule.WEIGHT:
        weight = chargeable_weight_g(basket.items, volumetric_divisor=method.volumetric_divisor)
        if weight is None:
            return Quote(method, None, "weight_unknown")
        price = band_price(method.weight_bands.all(), weight)
        if price is None:
            return Quote(method, None, "too_heavy", weight_g=weight)
    elif method.rule == ShippingRule.COURIER:
        if destination.latitude is None or destination.longitude is None or pickup is None:
            return Quote(method, None, "no_coordinates")
        distance = round(haversine_m(pickup[0], pickup[1], destination.latitude, destination.longitude))
        if method.max_distance_m is not None and distance > method.max_distance_m:
            return Quote(method, None, "too_far", distance_m=distance)
        price = courier_fee(method, distance)
    else:
        price = method.price
    if method.free_above is not None and basket.value >= method.free_above:
        price = ZERO
    return Quote(method, money(price), weight_g=weight, distance_m=distance)


# --- a cart's stores -------------------------------------------------------------------------


def zones_of(vendor_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ShippingZone]]:
    """``{vendor_id: [zone]}`` with each zone's methods (``zone.methods.all()``, by position)
    and their weight bands prefetched: three queries whatever the number of stores."""
    ids = list(set(vendor_ids))
    out: dict[uuid.UUID, list[ShippingZone]] = {vid: [] for vid in ids}
    if not ids:
        return out
    methods = ShippingMethod.objects.order_by("position", "name", "id").prefetch_related("weight_bands")
    for zone in ShippingZone.objects.filter(vendor_id__in=ids).prefetch_related(Prefetch("methods", queryset=methods)):
        out[zone.vendor_id].append(zone)
    return out


def quotes_for_baskets(*, baskets: Iterable[Basket], destination: Destination | None,
                       zones: Mapping[uuid.UUID, list[ShippingZone]] | None = None) -> dict[uuid.UUID, list[Quote]]:
    """``{vendor_id: [Quote of each of the store's methods]}`` for ``baskets`` sent to
    ``destination`` (none: no method is offered, ``reason`` ``zone``), by price then position;
    unavailable ones last. ``zones`` as :func:`zones_of` gives them (loaded when not given).
    The store's pickup point is asked (``store_pickup_point``) only for a store with an active
    courier method."""
    baskets = list(baskets)
    zones = zones if zones is not None else zones_of(b.vendor_id for b in baskets)
    out: dict[uuid.UUID, list[Quote]] = {}
    for basket in baskets:
        store_zones = zones.get(basket.vendor_id, [])
        listed = {c.code for z in store_zones if not z.rest_of_world for c in z.countries}
        methods = [(m, z) for z in store_zones for m in z.methods.all()]
        pickup = None
        if destination is not None and any(m.rule == ShippingRule.COURIER and m.is_active for m, _ in methods):
            pickup = store_pickup_point(basket.vendor_id)
        quotes = []
        for method, zone in methods:
            method.zone = zone  # the zone is already loaded: no query
            quotes.append(Quote(method, None, "zone") if destination is None else
                          quote(method, basket, destination, listed_countries=listed, pickup=pickup))
        quotes.sort(key=lambda q: (not q.available, q.price or ZERO, q.method.position, q.method.name))
        out[basket.vendor_id] = quotes
    return out


def method_snapshot(q: Quote) -> dict[str, Any]:
    """What an order keeps of the method it ships with (JSON-ready): ``{"id", "name", "rule",
    "zone", "price", "currency", "free_above", "weight_g", "distance_m", "min_days",
    "max_days", "tax_class"}`` — the price charged and what it was computed from."""
    m = q.method
    return {
        "id": str(m.id),
        "name": m.name,
        "rule": m.rule,
        "zone": m.zone.name,
        "price": f"{q.price:.2f}" if q.price is not None else None,
        "currency": m.currency,
        "free_above": f"{m.free_above:.2f}" if m.free_above is not None else None,
        "weight_g": q.weight_g,
        "distance_m": q.distance_m,
        "min_days": m.min_days,
        "max_days": m.max_days,
        "tax_class": m.tax_class,
    }


def shipping_methods_of(*, vendor_id: uuid.UUID, active_only: bool) -> list[ShippingMethod]:
    """A store's methods with zone and bands, by position (active ones only with
    ``active_only``)."""
    qs = (ShippingMethod.objects.filter(vendor_id=vendor_id).select_related("zone").prefetch_related("weight_bands")
          .order_by("position", "name", "id"))
    return list(qs.filter(is_active=True) if active_only else qs)


def shipping_zones_of(*, vendor_id: uuid.UUID) -> list[ShippingZone]:
    """A store's zones, by name."""
    return list(ShippingZone.objects.filter(vendor_id=vendor_id).order_by("name", "id"))
