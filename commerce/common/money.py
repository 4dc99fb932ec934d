"""Money values shared by the commerce rooms: ``Decimal`` amounts with two places in a currency's
major unit (``"12.50"`` EUR) plus an ISO 4217 code."""

from __future__ import annotations

from decimal import Decimal

#: the currency of a new product, cart or wallet when none is given
DEFAULT_CURRENCY = "EUR"
#: one cent: the precision of every amount
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """``value`` rounded to two places (half-even as Decimal's default context)."""
    return Decimal(value).quantize(CENT)
