"""The ``auction:<auction_id>`` topic kind and the auction event types (``realtime.events``).

Most events carry the public auction (``auctions.selectors.auction_public_data``, also the
snapshot without the subscriber's own fields), so a client replaces its copy when ``version`` is
newer; ``auction.extended`` and ``auction.reserve_met`` are short notices of one change each.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Currency, Event, EventSchema, Money, Payload, Timestamp, TopicKind, Topics, one_of

from auctions.models import Auction, AuctionResult, AuctionStatus
from auctions.selectors import auction_public_data

#: ``auction:<auction_id>``: one auction, live (whoever may see it over REST)
AUCTION_TOPIC = TopicKind("auction", key="the auction id", description="one auction: price, leader, end time, result")


class AuctionVendor(Payload):
    id: UUID
    name: str


class AuctionPublic(EventSchema):
    """What everyone who may see the auction sees (shared by the events that carry it)."""

    topics: ClassVar[Topics] = (AUCTION_TOPIC,)

    id: UUID
    title: str
    description: str
    vendor: AuctionVendor
    product_id: UUID | None
    status: one_of(AuctionStatus.values)
    result: one_of(AuctionResult.values) | None
    currency: Currency
    start_price: Money
    current_price: Money | None = Field(description="null before the first bid")
    minimum_bid: Money | None = Field(description="the lowest acceptable next bid; null unless scheduled or live")
    bid_count: Count
    leader: str | None = Field(description='the leading bidder\'s pseudonym ("Bidder 3")')
    reserve_met: bool | None = Field(description="null when there is no reserve price")
    buy_now_price: Money | None
    buy_now_available: bool
    starts_at: Timestamp
    ends_at: Timestamp = Field(description="the effective end (soft close moves it, never past hard_end)")
    hard_end: Timestamp
    soft_close_window_seconds: int = Field(ge=1)
    soft_close_extension_seconds: int = Field(ge=1)
    final_price: Money | None
    version: Count = Field(description="grows by one per change: apply an event only when newer")
    server_time: Timestamp = Field(description="the server's clock when it was built (for countdowns)")

    @classmethod
    def build(cls, *, auction: Auction, now: datetime) -> Event:
        return cls.event(auction_public_data(auction, now=now))


class AuctionScheduled(AuctionPublic):
    """An admin approved the auction before its start: status ``scheduled``."""

    type: ClassVar[str] = "auction.scheduled"


class AuctionStarted(AuctionPublic):
    """The auction went live (status ``live``)."""

    type: ClassVar[str] = "auction.started"


class AuctionBidPlaced(AuctionPublic):
    """A bid was accepted: the public auction after it (price, leader, ``bid_count``,
    ``minimum_bid``, ``ends_at``, ``reserve_met``, ``version``)."""

    type: ClassVar[str] = "auction.bid_placed"


class AuctionCancelled(AuctionPublic):
    """The store (before the first bid) or an admin cancelled the auction (status
    ``cancelled``)."""

    type: ClassVar[str] = "auction.cancelled"


class AuctionClosed(AuctionPublic):
    """The auction ended: ``result`` ``sold`` (``final_price``; an order was created for the
    winner) or ``unsold``; ``via`` says whether bidding ended or buy-it-now sold it."""

    type: ClassVar[str] = "auction.closed"

    via: Literal["bidding", "buy_now"]

    @classmethod
    def build(cls, *, auction: Auction, now: datetime, via: str) -> Event:  # type: ignore[override]
        return cls.event({**auction_public_data(auction, now=now), "via": via})


class AuctionExtended(EventSchema):
    """Soft close: a bid in the last ``soft_close_window_seconds`` moved the end (never past
    ``hard_end``). Sent after that bid's ``auction.bid_placed``."""

    type: ClassVar[str] = "auction.extended"
    topics: ClassVar[Topics] = (AUCTION_TOPIC,)

    auction_id: UUID
    ends_at: Timestamp
    previous_ends_at: Timestamp
    hard_end: Timestamp
    version: Count

    @classmethod
    def build(cls, *, auction: Auction, previous_ends_at: datetime) -> Event:
        return cls.event({"auction_id": auction.pk, "ends_at": auction.ends_at, "previous_ends_at": previous_ends_at,
                          "hard_end": auction.hard_end, "version": auction.version})


class AuctionReserveMet(EventSchema):
    """The reserve price was reached (sent after the bid's ``auction.bid_placed``)."""

    type: ClassVar[str] = "auction.reserve_met"
    topics: ClassVar[Topics] = (AUCTION_TOPIC,)

    auction_id: UUID
    current_price: Money
    version: Count

    @classmethod
    def build(cls, *, auction: Auction) -> Event:
        return cls.event({"auction_id": auction.pk, "current_price": f"{auction.current_price:.2f}",
                          "version": auction.version})
