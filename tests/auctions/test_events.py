"""The ``auction:`` topic in the style of Zulip's event tests: a client that starts from the
snapshot and applies the events ends with exactly a fresh snapshot — for the store watching its
listing from approval on, and for each bidder — through scheduling, start, proxy bids, the
reserve, a soft-close extension and the close; and for buy-it-now, cancellation and an unsold
close.

The reducer a client writes:

* ``auction.scheduled`` / ``started`` / ``bid_placed`` / ``cancelled`` / ``closed`` carry the
  public auction: take it when its ``version`` is not older (``closed`` adds ``via``, which is
  not part of the auction);
* ``auction.extended`` (``ends_at``) and ``auction.reserve_met`` (``current_price``) repeat one
  change of the ``bid_placed`` before them;
* a bidder's own fields: ``my_max_amount`` is the highest maximum it sent; its pseudonym is the
  ``leader`` of the ``bid_placed`` whose ``version`` its accepted, leading bid's reply named,
  and ``leading`` is whether the leader is that pseudonym.

Compared: everything but ``server_time`` (the server's clock when the payload was built: a
countdown's reference, different in every payload by design) and ``order_id`` (the winner's and
the store's link to the order, which reaches them on their own topics: the ``auction.won``
notification and the order events on ``user:``/``vendor:``; it is not public).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auctions import services
from auctions.events import AUCTION_TOPIC
from auctions.realtime import bid_reply
from tests.factories.auctions import bidder
from tests.factories.commerce import VendorFactory
from tests.factories.core import AdminFactory
from tests.realtime.replay import Client, without

pytestmark = pytest.mark.django_db

PUBLIC = {"auction.scheduled", "auction.started", "auction.bid_placed", "auction.cancelled", "auction.closed"}


def reduce_auction(state: dict, type_: str, data: dict) -> dict:
    """What any subscriber does with an event of the ``auction:`` topic."""
    if type_ in PUBLIC:
        if data["version"] >= state["version"]:
            state.update(without(data, "via"))
    elif type_ == "auction.extended":
        state["ends_at"] = data["ends_at"]
    elif type_ == "auction.reserve_met":
        state["current_price"] = data["current_price"]
    else:
        raise AssertionError(type_)
    own = state.get("_own")
    if own is not None:  # a bidder's own fields
        if type_ == "auction.bid_placed" and data["version"] == own.get("leading_at_version"):
            own["pseudonym"] = data["leader"]
        if state.get("my_max_amount") is not None:
            state["leading"] = own.get("pseudonym") is not None and state["leader"] == own["pseudonym"]
    return state


def compared(state: dict) -> dict:
    return without(state, "server_time", "order_id", "_own")


class Bidder:
    """A bidder's client: the topic's events plus what its own bid replies tell it."""

    def __init__(self, user, auction):
        self.user, self.auction = user, auction
        self.client = Client(user=user, topic=AUCTION_TOPIC.name(auction.pk), reduce=reduce_auction, compared=compared)
        self.client.state["_own"] = {}

    def bid(self, amount: str, *, now=None) -> dict:
        reply = bid_reply(services.auction_place_bid(auction_id=self.auction.pk, bidder=self.user, max_amount=amount,
                                                     now=now))
        state = self.client.state
        state["my_max_amount"] = max(Decimal(state["my_max_amount"] or "0"), Decimal(amount)).quantize(Decimal("0.01"))
        state["my_max_amount"] = f"{state['my_max_amount']}"
        if reply["leading"]:
            state["_own"]["leading_at_version"] = reply["version"]
        return reply


def test_the_store_and_each_bidder_keep_exactly_the_snapshot_through_a_sold_auction():
    vendor = VendorFactory()
    now = timezone.now()
    listing = services.auction_create(
        user=vendor.owner, vendor_id=vendor.pk, title="Brass telescope", start_price="10.00", reserve_price="25.00",
        starts_at=now + timedelta(minutes=5), ends_at=now + timedelta(minutes=30), hard_end=now + timedelta(minutes=40),
        soft_close_window_seconds=120, soft_close_extension_seconds=120,
    )
    store = Client(user=vendor.owner, topic=AUCTION_TOPIC.name(listing.pk), reduce=reduce_auction, compared=compared)
    services.auction_approve(user=AdminFactory(), auction_id=listing.pk, now=now)
    store.sync("auction.scheduled")
    services.auction_start(auction_id=listing.pk, now=now + timedelta(minutes=6))
    store.sync("auction.started")

    alice, bob = Bidder(bidder(), listing), Bidder(bidder(), listing)
    alice.bid("20.00")
    for client in (store, alice.client, bob.client):
        client.sync("auction.bid_placed")
    assert alice.client.state["leading"] is True
    bob.bid("15.00")  # below alice's maximum: the proxy bid keeps her ahead
    for client in (store, alice.client, bob.client):
        client.sync("auction.bid_placed")
    assert (alice.client.state["leading"], bob.client.state["leading"]) == (True, False)
    bob.bid("30.00")  # bob leads and the reserve is met
    for client in (store, alice.client, bob.client):
        client.sync("auction.bid_placed", "auction.reserve_met")
    assert (alice.client.state["leading"], bob.client.state["leading"]) == (False, True)

    late = timezone.now() + timedelta(minutes=29)  # inside the soft-close window
    alice.bid("40.00", now=late)
    for client in (store, alice.client, bob.client):
        client.sync("auction.bid_placed", "auction.extended")
    assert (alice.client.state["leading"], bob.client.state["leading"]) == (True, False)

    services.auction_close(auction_id=listing.pk, now=late + timedelta(hours=1))
    for client in (store, alice.client, bob.client):
        client.sync("auction.closed")
    assert store.state["result"] == "sold" and store.state["final_price"] == "31.00"


def test_a_watcher_keeps_the_snapshot_through_buy_now_cancel_and_an_unsold_close():
    vendor = VendorFactory()
    now = timezone.now()

    def listed(**prices):
        auction = services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title="Lamp", start_price="10.00",
                                          ends_at=now + timedelta(hours=1), **prices)
        return services.auction_approve(user=AdminFactory(), auction_id=auction.pk)

    buy_now = listed(buy_now_price="50.00")
    watcher = bidder()
    client = Client(user=watcher, topic=AUCTION_TOPIC.name(buy_now.pk), reduce=reduce_auction, compared=compared)
    services.auction_buy_now(auction_id=buy_now.pk, buyer=bidder())
    client.sync("auction.closed")
    assert client.state["result"] == "sold" and client.state["buy_now_available"] is False

    cancelled = listed()
    store = Client(user=vendor.owner, topic=AUCTION_TOPIC.name(cancelled.pk), reduce=reduce_auction, compared=compared)
    services.auction_cancel(user=vendor.owner, auction_id=cancelled.pk)
    store.sync("auction.cancelled")

    unsold = listed(reserve_price="100.00")
    client = Client(user=watcher, topic=AUCTION_TOPIC.name(unsold.pk), reduce=reduce_auction, compared=compared)
    services.auction_place_bid(auction_id=unsold.pk, bidder=bidder(), max_amount="60.00")
    client.sync("auction.bid_placed")
    services.auction_close(auction_id=unsold.pk, now=now + timedelta(hours=2))
    client.sync("auction.closed")
    assert client.state["result"] == "unsold"
