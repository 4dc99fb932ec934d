"""The ``auction:<auction_id>`` topic: who may subscribe is exactly who may see the auction over
REST (``auctions.permissions.can_view_auction``): any signed-in user for scheduled, live and
ended auctions; the store's staff and marketplace admins for pending and cancelled ones (others
get ``forbidden``, as for an unknown id).

Snapshot: ``auctions.selectors.auction_data`` for the subscriber (the public payload plus their
own ``my_max_amount`` and ``leading``). Events (``auctions.events``): ``auction.scheduled``,
``auction.started``, ``auction.bid_placed`` (the
public payload after the bid), ``auction.extended`` (``{auction_id, ends_at, previous_ends_at,
hard_end, version}``), ``auction.reserve_met``, ``auction.closed`` (public payload with
``result`` and ``final_price``), ``auction.cancelled``.

Command ``bid`` ``{"max_amount": "12.50"}`` runs the same service as ``POST
/api/v1/auctions/{id}/bids/`` and replies ``{current_price, leading, minimum_bid, ends_at,
reserve_met, bid_count, version}``; refusals carry the REST codes (``bid_too_low``,
``auction_not_live``, ``auction_ended``, ``own_auction``, ``insufficient_funds``,
``invalid_amount``). Bucket ``bid``: 10 burst, 120 per minute per connection.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from auctions.events import AUCTION_TOPIC
from auctions.selectors import AuctionView, auction_data, auction_find_visible
from auctions.serializers import BidOutputSerializer
from auctions.services import auction_place_bid
from core.exceptions import Forbidden
from realtime.registry import Topic, command, register


def _visible(user, key: str):
    """The auction ``key`` if ``user`` may see it (the REST rule), else None."""
    return auction_find_visible(user=user, auction_id=key)


@register
class AuctionTopic(Topic):
    kind = AUCTION_TOPIC.kind
    #: per-connection bid limit (burst, per minute): ``AUCTION_BID_BUCKET``, default (10, 120)
    buckets = {"bid": tuple(getattr(settings, "AUCTION_BID_BUCKET", (10, 120)))}

    def authorize(self, *, user, key: str) -> bool:
        return _visible(user, key) is not None

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        auction = _visible(user, key)
        if auction is None:
            raise Forbidden(f"You may not use {AUCTION_TOPIC.name(key)}.", code="forbidden")
        return auction_data(auction, viewer=user)

    @command("bid", bucket="bid")
    def bid(self, *, user, key: str, data: dict) -> dict[str, Any]:
        payload = data if isinstance(data, dict) else {}
        result = auction_place_bid(auction_id=key, bidder=user, max_amount=payload.get("max_amount"))
        return bid_reply(result)


def bid_reply(result) -> dict[str, Any]:
    """The answer to an accepted bid (REST 201 body and socket reply), rendered by
    :class:`auctions.serializers.BidOutputSerializer`: ``{"bid_id", "current_price", "leading",
    "minimum_bid", "ends_at", "reserve_met", "bid_count", "version"}``."""
    view = AuctionView(auction=result.auction, now=timezone.now())
    return BidOutputSerializer({"bid": result.bid, "leading": result.leading, "view": view}).data
