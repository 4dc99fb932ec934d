"""The bidding rules as pure functions (no database), so every rule has worked-number tests.

Sources: bid increments — eBay's public increment table (README, "Auctions"); proxy bidding — eBay's
"automatic bidding": the price is the lowest that keeps the leader ahead, i.e. the second-highest
maximum plus one increment, capped at the leader's maximum; equal maxima → the earlier bid leads;
the first bid sets the price to the start price; once the leader's maximum reaches the reserve the
price is at least the reserve. Soft close as used by Trade Me, Lauritz and Liverpool's auction
platform: a bid inside the closing window moves the end to bid time + extension, never past the
hard end.

Money is ``Decimal`` with two places; times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

#: eBay's increment table: (lower bound of the current price, increment)
INCREMENTS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("0.00"), Decimal("0.05")),
    (Decimal("1.00"), Decimal("0.25")),
    (Decimal("5.00"), Decimal("0.50")),
    (Decimal("25.00"), Decimal("1.00")),
    (Decimal("100.00"), Decimal("2.50")),
    (Decimal("250.00"), Decimal("5.00")),
    (Decimal("500.00"), Decimal("10.00")),
    (Decimal("1000.00"), Decimal("25.00")),
    (Decimal("2500.00"), Decimal("50.00")),
    (Decimal("5000.00"), Decimal("100.00")),
)


def increment(price: Decimal) -> Decimal:
    """The bid increment at ``price`` (eBay's table): 0.01–0.99 → 0.05 … 5,000+ → 100.00."""
    step = INCREMENTS[0][1]
    for lower, inc in INCREMENTS:
        if price >= lower:
            step = inc
    return step


@dataclass(frozen=True)
class Standing:
    """The state bidding needs: the leader's maximum and the best maximum of anyone else (None
    when nobody else bid). Prices are derived, never stored independently of this."""

    leader_max: Decimal | None
    second_max: Decimal | None


def current_price(standing: Standing, *, start_price: Decimal, reserve: Decimal | None) -> Decimal | None:
    """The price shown: None before the first bid; the start price with one bidder; else
    ``min(leader_max, second_max + increment(second_max))``; never below the start price; at
    least the reserve once the leader's maximum reaches it."""
    if standing.leader_max is None:
        return None
    if standing.second_max is None:
        price = start_price
    else:
        price = min(standing.leader_max, standing.second_max + increment(standing.second_max))
        price = max(price, start_price)
    if reserve is not None and standing.leader_max >= reserve:
        price = max(price, reserve)
    return min(price, standing.leader_max)


def minimum_bid(price: Decimal | None, *, start_price: Decimal) -> Decimal:
    """The least a new bidder may offer: the start price before the first bid, else the current
    price plus one increment."""
    return start_price if price is None else price + increment(price)


def reserve_met(standing: Standing, reserve: Decimal | None) -> bool | None:
    """None without a reserve; else whether the leader's maximum reaches it."""
    if reserve is None:
        return None
    return standing.leader_max is not None and standing.leader_max >= reserve


def apply_bid(standing: Standing, *, is_leader: bool, max_amount: Decimal) -> tuple[Standing, bool]:
    """The standing after an accepted bid of ``max_amount``; returns ``(standing, leads)``.

    The leader raising their own maximum keeps the second maximum. A new maximum above the
    leader's takes the lead (the old leader's maximum becomes the second); an equal or lower one
    loses to the earlier bid and may raise the second maximum."""
    if standing.leader_max is None:
        return Standing(max_amount, None), True
    if is_leader:
        return Standing(max(standing.leader_max, max_amount), standing.second_max), True
    if max_amount > standing.leader_max:
        return Standing(max_amount, standing.leader_max), True
    second = max_amount if standing.second_max is None else max(standing.second_max, max_amount)
    return Standing(standing.leader_max, second), False


def soft_close_end(*, ends_at: datetime, hard_end: datetime, bid_at: datetime, window_s: int, extension_s: int) -> datetime:
    """The end after a bid accepted at ``bid_at``: unchanged outside the window; inside it
    ``bid_at + extension`` when that is later, capped at ``hard_end``."""
    if ends_at - bid_at > timedelta(seconds=window_s):
        return ends_at
    return min(max(ends_at, bid_at + timedelta(seconds=extension_s)), hard_end)
