"""Reads of the tax room: which rate applies to a sale, and how stores enter their prices.

**Which country's rate.** The destination's: the country of the order's shipping address. That
is the rule for sales to consumers inside the EU since 1 July 2021 (distance sales above the
EUR 10,000 threshold, and the One-Stop Shop lets any seller choose it below), and for domestic
sales destination and origin are the same country. A country with no rates in the table is
not taxed here (0 %): exports outside the EU are zero-rated. Add a country's rates to tax it.

**Which day.** The newest :class:`~commerce.tax.models.TaxRate` whose ``valid_from`` is not
after the day of the sale (UTC).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Iterable

from django.db.models import QuerySet

from commerce.tax.models import StoreTaxSettings, TaxClass, TaxRate

ZERO_RATE = Decimal("0.00")


def rates_for_country(*, country: str, on: date) -> dict[str, Decimal]:
    """``{tax_class: rate}`` in force in ``country`` (ISO 3166-1 alpha-2) on ``on``: every
    :class:`TaxClass`, ``zero`` always 0.00, a class without a row 0.00 (see the module
    docstring). One query."""
    rates = {c: ZERO_RATE for c in TaxClass.values}
    seen: set[str] = set()
    rows = (TaxRate.objects.filter(country=(country or "").upper(), valid_from__lte=on)
            .order_by("tax_class", "-valid_from").values_list("tax_class", "rate"))
    for tax_class, rate in rows:
        if tax_class not in seen:
            seen.add(tax_class)
            rates[tax_class] = rate
    return rates


def prices_include_tax(*, vendor_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """``{vendor_id: True when the store's prices include tax}`` for each id (True for a store
    without :class:`StoreTaxSettings`). One query."""
    ids = list(vendor_ids)
    out = {vid: True for vid in ids}
    if ids:
        out.update(StoreTaxSettings.objects.filter(vendor_id__in=ids).values_list("vendor_id", "prices_include_tax"))
    return out


def tax_rates_list(*, country: str | None = None, on: date | None = None) -> QuerySet[TaxRate]:
    """Rates, by country and class, newest first; only ``country``'s with it; only those in
    force on ``on`` (the newest per country and class) with it."""
    qs = TaxRate.objects.all()
    if country:
        qs = qs.filter(country=country.upper())
    if on is not None:
        qs = qs.filter(valid_from__lte=on).order_by("country", "tax_class", "-valid_from").distinct(
            "country", "tax_class")
    return qs.order_by("country", "tax_class", "-valid_from") if on is None else qs


def store_tax_settings(*, vendor_id: uuid.UUID) -> StoreTaxSettings:
    """The store's settings (an unsaved default row when it has none)."""
    return StoreTaxSettings.objects.filter(vendor_id=vendor_id).first() or StoreTaxSettings(vendor_id=vendor_id)
