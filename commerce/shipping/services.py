"""Writes of the shipping room: a store's zones and methods (its owners and managers, or a
marketplace admin: ``commerce.stores.selectors.vendor_get_managed``).

Every write locks the store row (``FOR UPDATE``; lock order: vendor -> carts), checks its
input, and sends ``commerce.shipping.signals.shipping_methods_changed``: the carts holding the
store's products are refreshed (``cart.updated``), so a buyer watching sees the new offer. An
order already placed keeps its method's snapshot and fee.

Refusals: ``NotFound`` ``vendor_not_found`` / ``shipping_zone_not_found`` /
``shipping_method_not_found``, ``Forbidden`` ``store_settings_not_allowed``, ``ApplicationError``
``invalid`` (with ``fields``), ``Conflict`` ``zone_in_use`` (deleting a zone that still has
methods) and ``rest_of_world_exists`` (a store has one rest-of-world zone).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django_countries import countries as all_countries

from core.exceptions import Conflict, NotFound

from commerce.common.validation import as_uuid, invalid
from commerce.shipping.models import ShippingMethod, ShippingRule, ShippingWeightBand, ShippingZone
from commerce.shipping.selectors import normalize_postcode
from commerce.shipping.signals import shipping_methods_changed
from commerce.stores.models import Vendor
from commerce.stores.selectors import vendor_get_managed
from commerce.tax.models import TaxClass

MAX_ZONES_PER_STORE = 50
MAX_METHODS_PER_STORE = 100
MAX_BANDS = 50
MAX_FEE = Decimal("99999999.99")

POSTCODE_RE = re.compile(r"^[A-Z0-9]{1,20}(\*|-[A-Z0-9]{1,20})?$")

ZONE_FIELDS = frozenset({"name", "countries", "regions", "postcodes", "rest_of_world"})
METHOD_FIELDS = frozenset({"zone_id", "name", "description", "rule", "price", "currency", "free_above", "price_per_km",
                           "max_distance_m", "volumetric_divisor", "min_days", "max_days", "tax_class", "is_active",
                           "position", "weight_bands"})


def _lock_store(*, user, vendor_id: Any) -> Vendor:
    """Permission (before any lock), then the store row ``FOR UPDATE``."""
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    vendor_get_managed(user=user, vendor_id=vendor_id)
    return Vendor.objects.select_for_update().get(pk=vendor_id)


def _changed(vendor_id: uuid.UUID) -> None:
    shipping_methods_changed.send(sender=ShippingMethod, vendor_id=vendor_id)


# --- checks ----------------------------------------------------------------------------------


def _text(field: str, value: Any, *, max_length: int, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or (required and not text) or len(text) > max_length:
        raise invalid(field, f"{'1' if required else '0'}-{max_length} characters.")
    return text


def _fee(field: str, value: Any, *, nullable: bool = False) -> Decimal | None:
    """A fee or threshold: a decimal string (or integer) 0.00 to 99,999,999.99, two decimals at
    most; floats refused (README, "Money in requests")."""
    if value is None and nullable:
        return None
    if isinstance(value, (float, bool)) or value is None:
        raise invalid(field, 'Send an amount as a decimal string such as "4.90".')
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid(field, "A valid amount is required.") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_FEE or amount != amount.quantize(Decimal("0.01")):
        raise invalid(field, "An amount from 0.00 to 99999999.99 with at most two decimals.")
    return amount.quantize(Decimal("0.01"))


def _count(field: str, value: Any, *, low: int, high: int, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(field, f"A whole number from {low} to {high}.")
    return value


def _countries(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 250:
        raise invalid("countries", "A list of ISO 3166-1 alpha-2 codes.")
    codes = []
    for code in value:
        code = code.strip().upper() if isinstance(code, str) else ""
        if code not in all_countries:
            raise invalid("countries", f"Unknown country code {code!r}.")
        if code not in codes:
            codes.append(code)
    return codes


def _regions(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 100:
        raise invalid("regions", "A list of at most 100 region names.")
    return [_text("regions", r, max_length=100) for r in value]


def _postcodes(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 500:
        raise invalid("postcodes", "A list of at most 500 postcode patterns.")
    out = []
    for raw in value:
        pattern = normalize_postcode(raw) if isinstance(raw, str) else ""
        if not POSTCODE_RE.match(pattern):
            raise invalid("postcodes", f"{raw!r}: give a postcode (10115), a prefix (10*) or a range (10000-14999).")
        if "-" in pattern:
            low, high = pattern.split("-")
            if len(low) != len(high) or low > high:
                raise invalid("postcodes", f"{raw!r}: a range joins two codes of the same length, low to high.")
        out.append(pattern)
    return out


def _bands(value: Any) -> list[tuple[int, Decimal]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_BANDS:
        raise invalid("weight_bands", f"Give 1-{MAX_BANDS} bands [{{\"max_weight_g\", \"price\"}}].")
    bands = []
    for band in value:
        if not isinstance(band, dict):
            raise invalid("weight_bands", 'Each band is {"max_weight_g", "price"}.')
        bands.append((_count("weight_bands", band.get("max_weight_g"), low=1, high=1_000_000, nullable=False),
                      _fee("weight_bands", band.get("price"))))
    weights = [w for w, _ in bands]
    if len(set(weights)) != len(weights):
        raise invalid("weight_bands", "Two bands end at the same weight.")
    return sorted(bands)


# --- zones -----------------------------------------------------------------------------------


def _apply_zone(zone: ShippingZone, data: dict[str, Any]) -> None:
    unknown = set(data) - ZONE_FIELDS
    if unknown:
        raise invalid(sorted(unknown)[0], "Unknown field.")
    if "name" in data:
        zone.name = _text("name", data["name"], max_length=100)
    if "rest_of_world" in data:
        zone.rest_of_world = bool(data["rest_of_world"])
    if "countries" in data:
        zone.countries = _countries(data["countries"])
    if "regions" in data:
        zone.regions = _regions(data["regions"])
    if "postcodes" in data:
        zone.postcodes = _postcodes(data["postcodes"])
    if zone.rest_of_world and (zone.countries or zone.regions or zone.postcodes):
        raise invalid("rest_of_world", "A rest-of-world zone lists no countries, regions or postcodes.")
    if not zone.rest_of_world and not zone.countries:
        raise invalid("countries", "List at least one country (or make it the rest-of-world zone).")


def _check_one_rest_of_world(zone: ShippingZone) -> None:
    if zone.rest_of_world and ShippingZone.objects.filter(vendor_id=zone.vendor_id, rest_of_world=True).exclude(
            pk=zone.pk).exists():
        raise Conflict("The store already has a rest-of-world zone.", code="rest_of_world_exists")


def shipping_zone_create(*, user, vendor_id: Any, data: dict[str, Any]) -> ShippingZone:
    """Create a zone of store ``vendor_id`` from ``data`` (``name``; ``countries`` [ISO codes],
    ``regions``, ``postcodes`` [patterns], or ``rest_of_world: true``). Refusals: module
    docstring."""
    with transaction.atomic():
        vendor = _lock_store(user=user, vendor_id=vendor_id)
        if ShippingZone.objects.filter(vendor=vendor).count() >= MAX_ZONES_PER_STORE:
            raise Conflict(f"A store has at most {MAX_ZONES_PER_STORE} shipping zones.", code="too_many_zones")
        zone = ShippingZone(vendor=vendor)
        _apply_zone(zone, {"name": None, **data} if "name" not in data else data)
        _check_one_rest_of_world(zone)
        zone.save()
        _changed(vendor.pk)
        return zone


def _zone_of(vendor: Vendor, zone_id: Any) -> ShippingZone:
    zid = as_uuid(zone_id, code="shipping_zone_not_found", what="Shipping zone")
    zone = ShippingZone.objects.filter(pk=zid, vendor=vendor).first()
    if zone is None:
        raise NotFound("Shipping zone not found.", code="shipping_zone_not_found")
    return zone


def shipping_zone_update(*, user, vendor_id: Any, zone_id: Any, data: dict[str, Any]) -> ShippingZone:
    """Change a zone with the keys of ``data`` (as :func:`shipping_zone_create`)."""
    with transaction.atomic():
        vendor = _lock_store(user=user, vendor_id=vendor_id)
        zone = _zone_of(vendor, zone_id)
        _apply_zone(zone, data)
        _check_one_rest_of_world(zone)
        zone.save()
        _changed(vendor.pk)
        return zone


def shipping_zone_delete(*, user, vendor_id: Any, zone_id: Any) -> None:
    """Delete a zone without methods (``Conflict`` ``zone_in_use`` otherwise: delete or move its
    methods first)."""
    with transaction.atomic():
        vendor = _lock_store(user=user, vendor_id=vendor_id)
        zone = _zone_of(vendor, zone_id)
        if zone.methods.exists():
            raise Conflict("Delete or move this zone's shipping methods first.", code="zone_in_use")
        zone.delete()
        _changed(vendor.pk)


# --- methods ---------------------------------------------------------------------------------


def _apply_method(method: ShippingMethod, vendor: Vendor, data: dict[str, Any]) -> list[tuple[int, Decimal]] | None:
    """Set ``data`` on ``method`` (not saved) and check the whole method; returns the new weight
    bands when given."""
    unknown = set(data) - METHOD_FIELDS
    if unknown:
        raise invalid(sorted(unknown)[0], "Unknown field.")
    if "zone_id" in data:
        method.zone = _zone_of(vendor, data["zone_id"])
    if "name" in data:
        method.name = _text("name", data["name"], max_length=100)
    if "description" in data:
        method.description = _text("description", data["description"] or "", max_length=300, required=False)
    if "rule" in data:
        if data["rule"] not in ShippingRule.values:
            raise invalid("rule", f"One of {', '.join(ShippingRule.values)}.")
        method.rule = data["rule"]
    if "currency" in data:
        if not isinstance(data["currency"], str) or not re.fullmatch(r"[A-Z]{3}", data["currency"]):
            raise invalid("currency", "An ISO 4217 code, e.g. EUR.")
        method.currency = data["currency"]
    if "tax_class" in data:
        if data["tax_class"] not in TaxClass.values:
            raise invalid("tax_class", f"One of {', '.join(TaxClass.values)}.")
        method.tax_class = data["tax_class"]
    if "price" in data:
        method.price = _fee("price", data["price"])
    for name in ("free_above", "price_per_km"):
        if name in data:
            setattr(method, name, _fee(name, data[name], nullable=True))
    if "max_distance_m" in data:
        method.max_distance_m = _count("max_distance_m", data["max_distance_m"], low=1, high=1_000_000)
    if "volumetric_divisor" in data:
        method.volumetric_divisor = _count("volumetric_divisor", data["volumetric_divisor"], low=100, high=100_000)
    for name in ("min_days", "max_days"):
        if name in data:
            setattr(method, name, _count(name, data[name], low=0, high=365))
    if "position" in data:
        method.position = _count("position", data["position"], low=0, high=10_000, nullable=False)
    if "is_active" in data:
        method.is_active = bool(data["is_active"])
    if method.min_days is not None and method.max_days is not None and method.min_days > method.max_days:
        raise invalid("max_days", "max_days must not be less than min_days.")
    bands = _bands(data["weight_bands"]) if data.get("weight_bands") is not None else None
    if method.zone_id is None:
        raise invalid("zone_id", "This field is required.")
    if not method.name:
        raise invalid("name", "This field is required.")
    has_bands = bands is not None or (method.pk is not None and method.weight_bands.exists())
    if method.rule == ShippingRule.WEIGHT and not has_bands:
        raise invalid("weight_bands", "A weight method needs at least one band.")
    if method.rule == ShippingRule.COURIER and method.price_per_km is None:
        raise invalid("price_per_km", "A courier method needs a price per kilometre (0.00 for none).")
    return bands


def _save_bands(method: ShippingMethod, bands: list[tuple[int, Decimal]] | None) -> None:
    if bands is None:
        return
    method.weight_bands.all().delete()
    ShippingWeightBand.objects.bulk_create([ShippingWeightBand(method=method, max_weight_g=w, price=p) for w, p in bands])


def shipping_method_create(*, user, vendor_id: Any, data: dict[str, Any]) -> ShippingMethod:
    """Create a method of store ``vendor_id``: ``zone_id`` (one of the store's zones), ``name``,
    ``rule`` (``flat`` | ``weight`` | ``courier``), ``price``, ``currency``, and as the rule
    needs: ``weight_bands`` [{``max_weight_g``, ``price``}], ``volumetric_divisor``,
    ``price_per_km``, ``max_distance_m``; any rule: ``free_above``, ``min_days``/``max_days``,
    ``tax_class``, ``is_active``, ``position``. Refusals: module docstring."""
    with transaction.atomic():
        vendor = _lock_store(user=user, vendor_id=vendor_id)
        if ShippingMethod.objects.filter(vendor=vendor).count() >= MAX_METHODS_PER_STORE:
            raise Conflict(f"A store has at most {MAX_METHODS_PER_STORE} shipping methods.", code="too_many_methods")
        method = ShippingMethod(vendor=vendor)
        bands = _apply_method(method, vendor, data)
        method.save()
        _save_bands(method, bands)
        _changed(vendor.pk)
        return method


def _method_of(vendor: Vendor, method_id: Any) -> ShippingMethod:
    mid = as_uuid(method_id, code="shipping_method_not_found", what="Shipping method")
    method = ShippingMethod.objects.select_related("zone").filter(pk=mid, vendor=vendor).first()
    if method is None:
        raise NotFound("Shipping method not found.", code="shipping_method_not_found")
    return method


def shipping_method_update(*, user, vendor_id: Any, method_id: Any, data: dict[str, Any]) -> ShippingMethod:
    """Change a method with the keys of ``data`` (as :func:`shipping_method_create`;
    ``weight_bands`` replaces the bands)."""
    with transaction.atomic():
        vendor = _lock_store(user=user, vendor_id=vendor_id)
        method = _method_of(vendor, method_id)
        bands = _apply_method(method, vendor, data)
        method.save()
        _save_bands(method, bands)
        _changed(vendor.pk)
        return method


def shipping_method_delete(*, user, vendor_id: Any, method_id: Any) -> None:
    """Delete a method (orders that shipped with it keep their snapshot)."""
    with transaction.atomic():
        vendor = _lock_store(user=user, vendor_id=vendor_id)
        _method_of(vendor, method_id).delete()
        _changed(vendor.pk)
