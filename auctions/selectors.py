"""Reads of auctions: the public payload (topic snapshot and events), the viewer's payload (REST
detail: adds ``my_max_amount`` and ``leading`` for a signed-in bidder, ``order_id`` for the
winner and the store), and the lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from auctions import rules
from auctions.models import Auction, AuctionParticipant, AuctionStatus
from auctions.permissions import can_see_auction_order, can_view_auction, visible_auctions_q
from auctions.serializers import AuctionOutputSerializer, AuctionSerializer
from core.exceptions import NotFound
from core.permissions import is_active_user
from core.utils import parse_uuid

def auction_find_visible(*, user, auction_id: Any) -> Auction | None:
    """The auction ``auction_id`` (vendor joined) if ``user`` may see it
    (``auctions.permissions.can_view_auction``), else None (also for a malformed id)."""
    aid = parse_uuid(auction_id)
    auction = Auction.objects.select_related("vendor").filter(pk=aid).first() if aid else None
    return auction if auction is not None and can_view_auction(user, auction) else None


def auction_get_visible(*, user, auction_id: Any) -> Auction:
    """The auction ``auction_id`` (vendor joined) if ``auctions.permissions.can_view_auction`` lets
    ``user`` see it. Raises ``NotFound`` ``auction_not_found`` otherwise (also for a malformed id): an
    invisible auction is indistinguishable from a missing one."""
    auction = auction_find_visible(user=user, auction_id=auction_id)
    if auction is None:
        raise NotFound("Auction not found.", code="auction_not_found")
    return auction


def pseudonym_of(auction: Auction, user_id) -> str | None:
    """``"Bidder <n>"`` of ``user_id`` in ``auction`` (None when they never bid)."""
    if user_id is None:
        return None
    number = AuctionParticipant.objects.filter(auction=auction, user_id=user_id).values_list("number", flat=True).first()
    return f"Bidder {number}" if number else None


@dataclass(frozen=True)
class AuctionView:
    """An auction as the payloads show it at ``now`` (rendered by
    :class:`auctions.serializers.AuctionSerializer` / ``AuctionOutputSerializer``): the rules'
    derived values, the leader's pseudonym, and ``viewer`` (``my_max_amount``, ``leading``,
    ``order_id``: only the keys that apply to the viewer)."""

    auction: Auction
    now: datetime
    viewer: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str | None:
        return self.auction.result or None

    @property
    def minimum_bid(self) -> Decimal | None:
        a = self.auction
        if a.status not in (AuctionStatus.LIVE, AuctionStatus.SCHEDULED):
            return None
        return rules.minimum_bid(a.current_price, start_price=a.start_price)

    @property
    def leader(self) -> str | None:
        return getattr(self.auction, "leader_pseudonym", None) or pseudonym_of(self.auction, self.auction.leader_id)

    @property
    def reserve_met(self) -> bool | None:
        a = self.auction
        return rules.reserve_met(rules.Standing(a.leader_max, a.second_max), a.reserve_price)

    @property
    def buy_now_available(self) -> bool:
        a = self.auction
        return bool(a.buy_now_price is not None and a.bid_count == 0 and
                    a.status in (AuctionStatus.LIVE, AuctionStatus.SCHEDULED))


def auction_public_data(auction: Auction, *, now: datetime | None = None) -> dict[str, Any]:
    """What everyone may see (the ``auction:<id>`` event data), rendered by
    :class:`auctions.serializers.AuctionSerializer`::

        {"id", "title", "description", "vendor": {"id", "name"}, "product_id", "status", "result",
         "currency", "start_price", "current_price", "minimum_bid", "bid_count", "leader",
         "reserve_met", "buy_now_price", "buy_now_available", "starts_at", "ends_at", "hard_end",
         "soft_close_window_seconds", "soft_close_extension_seconds", "final_price", "version",
         "server_time"}

    ``leader`` is a pseudonym ("Bidder 3"); ``reserve_met`` is null without a reserve; money as
    ``"12.50"`` strings; times ISO 8601 UTC; ``server_time`` lets clients run countdowns on the
    server's clock."""
    return AuctionSerializer(AuctionView(auction=auction, now=now or timezone.now())).data


def auction_data(auction: Auction, *, viewer=None, now: datetime | None = None) -> dict[str, Any]:
    """The auction for ``viewer`` (REST bodies, the topic snapshot), rendered by
    :class:`auctions.serializers.AuctionOutputSerializer`: :func:`auction_public_data` plus, for a
    signed-in viewer, ``my_max_amount`` (null when they did not bid) and ``leading``; for the
    winner and the store's staff of a sold auction, ``order_id``."""
    mine: dict[str, Any] = {}
    if is_active_user(viewer):
        max_amount = AuctionParticipant.objects.filter(auction=auction, user=viewer).values_list("max_amount", flat=True).first()
        mine["my_max_amount"] = max_amount
        mine["leading"] = auction.leader_id == viewer.pk if max_amount is not None else False
        if can_see_auction_order(viewer, auction):
            mine["order_id"] = auction.order_id
    return AuctionOutputSerializer(AuctionView(auction=auction, now=now or timezone.now(), viewer=mine)).data


def auction_list(*, viewer, params: dict[str, str]) -> QuerySet[Auction]:
    """Auctions for lists. ``status`` (default: live and scheduled), ``ending_soon=1`` (live,
    ending within the hour, soonest first), ``vendor=<id>``, ``mine=bids`` (auctions the viewer bid
    on), ``won=1`` (auctions the viewer won). Pending and cancelled ones are visible only to
    their store's staff and marketplace admins (``auctions.permissions.visible_auctions_q``)."""
    qs = Auction.objects.select_related("vendor").filter(visible_auctions_q(viewer))
    status = params.get("status")
    if status:
        qs = qs.filter(status=status)
    elif not params.get("won") and not params.get("mine") and not params.get("vendor"):
        qs = qs.filter(status__in=[AuctionStatus.LIVE, AuctionStatus.SCHEDULED])
    if params.get("ending_soon"):
        qs = qs.filter(status=AuctionStatus.LIVE, ends_at__lte=timezone.now() + timedelta(hours=1))
    if params.get("vendor"):
        qs = qs.filter(vendor_id=params["vendor"])
    if params.get("mine") == "bids":
        qs = qs.filter(participants__user=viewer)
    if params.get("won"):
        qs = qs.filter(status=AuctionStatus.ENDED, result="sold", leader=viewer)
    return qs.order_by("ends_at", "id")
