"""Auction REST (codes, access, lists, schema) and the ``auction:`` topic over real sockets:
every accepted bid seen once and in order by two sockets, resume with ``since``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from auctions import services
from tests.conftest import client_for, tokens_for
from tests.factories.auctions import bidder, live_auction
from tests.factories.commerce import VendorFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.live import WSClient


@pytest.mark.django_db
def test_rest_listing_approval_bidding_and_codes():
    vendor = VendorFactory()
    ends = (timezone.now() + timedelta(hours=2)).isoformat()
    r = client_for(vendor.owner).post("/api/v1/auctions/", {"title": "Brass horn", "start_price": "10.00",
                                                            "reserve_price": "40.00", "ends_at": ends}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.content
    aid = r.json()["id"]
    buyer = bidder()
    assert client_for(buyer).get(f"/api/v1/auctions/{aid}/").status_code == 404  # pending: private
    assert client_for(UserFactory()).post("/api/v1/auctions/", {"title": "x", "start_price": "1", "ends_at": ends},
                                          format="json").json()["code"] == "not_vendor"
    assert client_for(vendor.owner).post(f"/api/v1/auctions/{aid}/approve/").status_code == 403
    r = client_for(AdminFactory()).post(f"/api/v1/auctions/{aid}/approve/")
    assert r.status_code == 200 and r.json()["status"] == "live"
    c = client_for(buyer)
    r = c.post(f"/api/v1/auctions/{aid}/bids/", {"max_amount": "9.99"}, format="json")
    assert (r.status_code, r.json()["code"], r.json()["minimum_bid"]) == (400, "bid_too_low", "10.00")
    for bad in ("12.345", "-3", "twelve", 12.5):
        r = c.post(f"/api/v1/auctions/{aid}/bids/", {"max_amount": bad}, format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid_amount", bad
    r = c.post(f"/api/v1/auctions/{aid}/bids/", {"max_amount": "25.00"}, format="json")
    assert r.status_code == 201
    body = r.json()
    assert (body["current_price"], body["leading"], body["minimum_bid"], body["reserve_met"]) == ("10.00", True, "10.50", False)
    assert client_for(vendor.owner).post(f"/api/v1/auctions/{aid}/bids/", {"max_amount": "30"}, format="json").json()["code"] == "own_auction"
    detail = c.get(f"/api/v1/auctions/{aid}/").json()
    assert (detail["my_max_amount"], detail["leading"], detail["leader"]) == ("25.00", True, "Bidder 1")
    assert "reserve_price" not in detail and "40.00" not in str(detail)
    other = client_for(UserFactory()).get(f"/api/v1/auctions/{aid}/").json()
    assert other["my_max_amount"] is None and other["leading"] is False and other["server_time"]
    assert [a["id"] for a in c.get("/api/v1/auctions/?mine=bids").json()["results"]] == [aid]
    assert aid in [a["id"] for a in c.get("/api/v1/auctions/").json()["results"]]
    r = c.post(f"/api/v1/auctions/{aid}/buy-now/", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert r.status_code == 409 and r.json()["code"] == "buy_now_unavailable"


@pytest.mark.django_db
def test_buy_now_over_rest_returns_the_order():
    auction = live_auction(buy_now="75.00")
    buyer = bidder()
    r = client_for(buyer).post(f"/api/v1/auctions/{auction.pk}/buy-now/", HTTP_IDEMPOTENCY_KEY="bn-1")
    assert r.status_code == 201 and r.json()["status"] == "paid" and r.json()["total"] == "75.00"
    detail = client_for(buyer).get(f"/api/v1/auctions/{auction.pk}/").json()
    assert (detail["status"], detail["result"], detail["order_id"]) == ("ended", "sold", r.json()["id"])


@pytest.mark.django_db
def test_schema_has_the_auction_endpoints(api_client):
    paths = api_client.get("/api/v1/schema/?format=json").json()["paths"]
    for p in ("/api/v1/auctions/", "/api/v1/auctions/{auction_id}/bids/", "/api/v1/auctions/{auction_id}/buy-now/"):
        assert p in paths


def ws(live, user, topic=None):
    client = WSClient(live.ws_url)
    client.auth(tokens_for(user)["access"])
    if topic:
        reply = client.request("subscribe", topic=topic)
        assert reply["status"] == "ok", reply
        return client, reply["data"]
    return client, None


@pytest.mark.live
def test_two_sockets_see_every_accepted_bid_once_in_order_and_resume_with_since(live):
    auction = live_auction(start="10.00")
    topic = f"auction:{auction.pk}"
    a, b, watcher_user = bidder(), bidder(), UserFactory()
    sock_a, snap = ws(live, a, topic)
    assert snap["snapshot"]["minimum_bid"] == "10.00" and snap["snapshot"]["leader"] is None
    sock_b, _ = ws(live, b, topic)
    watcher, wsnap = ws(live, watcher_user, topic)
    last_seq = wsnap["seq"]
    prices = []
    for client, amount in ((sock_a, "20.00"), (sock_b, "30.00"), (sock_a, "45.00")):
        reply = client.request("command", topic=topic, name="bid", data={"max_amount": amount})
        assert reply["status"] == "ok", reply
        prices.append(reply["data"]["current_price"])
    refused = sock_b.request("command", topic=topic, name="bid", data={"max_amount": "1.00"})
    assert refused["status"] == "error" and refused["error"]["code"] == "bid_too_low"
    assert prices == ["10.00", "20.50", "31.00"]
    seen = []
    for _ in range(3):
        event = watcher.next_event(topic, "auction.bid_placed")
        seen.append((event["seq"], event["data"]["current_price"], event["data"]["leader"]))
    assert [s[1] for s in seen] == prices and [s[0] for s in seen] == [last_seq + 1, last_seq + 2, last_seq + 3]
    assert seen[-1][2] == "Bidder 1"
    watcher.close()
    # while the watcher is away: one more bid; it resumes with since and gets exactly that one
    sock_b.request("command", topic=topic, name="bid", data={"max_amount": "60.00"})
    back, _ = ws(live, watcher_user)
    reply = back.request("subscribe", topic=topic, since=seen[-1][0])
    assert reply["status"] == "ok" and reply["data"]["recovered"] is True
    missed = back.next_event(topic, "auction.bid_placed")
    assert missed["seq"] == seen[-1][0] + 1 and missed["data"]["current_price"] == "46.00"
    for c in (sock_a, sock_b, back):
        c.close()


@pytest.mark.live
def test_cancelled_auction_drops_its_public_subscribers_and_refuses_their_bids(live):
    # A socket checks auction:<id> once, at subscribe, not per bid; cancelling narrows who may
    # see the auction, so its subscribers check again: the bidder loses it, the store keeps it.
    auction = live_auction()
    topic = f"auction:{auction.pk}"
    buyer = bidder()
    phone, _ = ws(live, buyer, topic)
    store, _ = ws(live, auction.vendor.owner, topic)
    assert phone.request("command", topic=topic, name="bid", data={"max_amount": "20.00"})["status"] == "ok"
    services.auction_cancel(user=AdminFactory(), auction_id=auction.pk)
    assert phone.next_event(topic, "auction.cancelled")["data"]["status"] == "cancelled"
    assert phone.next_event(topic, "subscription.revoked")["data"] == {"reason": "auction_cancelled"}
    reply = phone.request("command", topic=topic, name="bid", data={"max_amount": "30.00"})
    assert reply["status"] == "error" and reply["error"]["code"] == "forbidden", reply
    assert store.next_event(topic, "auction.cancelled")
    with pytest.raises(TimeoutError):
        store.next_event(topic, "subscription.revoked", timeout=0.7)
    assert store.request("subscribe", topic=topic)["status"] == "ok"
