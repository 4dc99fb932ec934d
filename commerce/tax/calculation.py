"""Tax arithmetic, pure functions on ``Decimal`` amounts in a currency's major unit.

Rules (issue 18 §5). The VAT Directive 2006/112/EC, art. 226, requires an invoice to state the
taxable amount and the tax per rate; how to round is left to the member states, and rounding
each line is accepted across the EU. Here:

* **per line**: the tax of a line (an order line: unit price x quantity; the shipping fee) is
  computed on the line's amount and rounded once, half-up, to cents;
* **prices including tax** (``includes_tax``): the amount is the gross; ``tax = gross x rate /
  (100 + rate)``; ``net = gross - tax``;
* **prices excluding tax**: the amount is the net; ``tax = net x rate / 100``; ``gross = net +
  tax``;

so ``net + tax == gross`` holds exactly on every line, and totals are sums of lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

from commerce.common.money import CENT

HUNDRED = Decimal("100")


def round_half_up(value: Decimal) -> Decimal:
    """``value`` rounded to cents, halves away from zero (``0.125 -> 0.13``, ``-0.125 -> -0.13``)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Taxed:
    """One line's amounts: ``net + tax == gross`` (cents), at ``rate`` percent."""

    net: Decimal
    tax: Decimal
    gross: Decimal
    rate: Decimal


def tax_line(amount: Decimal, rate: Decimal, *, includes_tax: bool) -> Taxed:
    """Tax of one line of ``amount`` (cents) at ``rate`` percent (``Decimal("19.00")``):
    ``amount`` is the gross when ``includes_tax``, else the net (module docstring). Raises
    ``ValueError`` for a negative amount or a rate outside [0, 100)."""
    amount, rate = Decimal(amount).quantize(CENT), Decimal(rate)
    if amount < 0 or not Decimal("0") <= rate < HUNDRED:
        raise ValueError(f"cannot tax {amount} at {rate} %")
    if includes_tax:
        tax = round_half_up(amount * rate / (HUNDRED + rate))
        return Taxed(net=amount - tax, tax=tax, gross=amount, rate=rate)
    tax = round_half_up(amount * rate / HUNDRED)
    return Taxed(net=amount, tax=tax, gross=amount + tax, rate=rate)


def tax_included_in(gross: Decimal, rate: Decimal) -> Taxed:
    """The tax contained in a gross amount (refunds, credit notes): :func:`tax_line` with
    ``includes_tax=True``."""
    return tax_line(gross, rate, includes_tax=True)


@dataclass(frozen=True)
class RateTotal:
    """What an invoice states per rate: the sum of the lines taxed at ``rate``."""

    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


def totals_by_rate(lines: Iterable[Taxed]) -> list[RateTotal]:
    """Sum ``lines`` per rate, highest rate first: what an EU invoice lists per rate."""
    sums: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        s = sums.setdefault(line.rate, [Decimal("0.00")] * 3)
        s[0] += line.net
        s[1] += line.tax
        s[2] += line.gross
    return [RateTotal(rate=r, net=n, tax=t, gross=g) for r, (n, t, g) in sorted(sums.items(), reverse=True)]


def split_amount(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` (cents, >= 0) in proportion to ``weights`` (>= 0, not all zero) so the
    parts are cents and add up to ``amount`` exactly: each part is rounded down, and the cents
    left go to the largest remainders (Hamilton's method; ties to the earlier weight). Used to
    spread a refund over an invoice's tax rates. Raises ``ValueError`` when every weight is 0."""
    amount = Decimal(amount).quantize(CENT)
    total = sum(weights, Decimal("0"))
    if total <= 0:
        raise ValueError("weights must not all be zero")
    cents = int(amount / CENT)
    exact = [Decimal(cents) * w / total for w in weights]
    parts = [int(e) for e in exact]
    left = cents - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [Decimal(p) * CENT for p in parts]
