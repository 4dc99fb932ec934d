"""Auction services on PostgreSQL: bids judged by the rules, holds, soft close, buy-it-now,
closing (sold / unsold / reserve), refusals that change nothing, events and notifications."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import override_settings
from django.utils import timezone

from auctions import services
from auctions.models import Auction
from commerce.catalog.models import Product
from commerce.orders.models import Order
from commerce.wallet.models import Wallet
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.factories.auctions import bidder, live_auction
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AdminFactory

pytestmark = pytest.mark.django_db


def bid(auction, user, amount, **kw):
    return services.auction_place_bid(auction_id=auction.pk, bidder=user, max_amount=amount, **kw)


def held(user):
    return Wallet.objects.get(user=user).held_balance


def events(auction, type_):
    return [e.data for e in OutboxEvent.objects.filter(topic=f"auction:{auction.pk}", type=type_).order_by("id")]


def test_proxy_bidding_worked_example_with_holds_and_outbid_notice():
    auction = live_auction(start="10.00")
    a, b = bidder(), bidder()
    r1 = bid(auction, a, "50.00")
    assert (r1.leading, r1.auction.current_price) == (True, D("10.00"))
    assert held(a) == D("50.00")
    r2 = bid(auction, b, "20.00")  # below the leader's maximum: A stays ahead at 20.50
    assert (r2.leading, r2.auction.current_price) == (False, D("20.50"))
    assert held(b) == 0
    r3 = bid(auction, b, "60.00")  # B takes the lead at 50.00 + 1.00
    assert (r3.leading, r3.auction.current_price) == (True, D("51.00"))
    assert (held(a), held(b)) == (D("0.00"), D("60.00"))
    assert Notification.objects.filter(recipient=a, kind="auction.outbid").count() == 1
    placed = events(auction, "auction.bid_placed")
    assert [e["current_price"] for e in placed] == ["10.00", "20.50", "51.00"]
    assert placed[-1]["leader"] == "Bidder 2" and placed[0]["leader"] == "Bidder 1"
    assert placed[-1]["minimum_bid"] == "52.00" and placed[-1]["bid_count"] == 3
    assert "leader_max" not in placed[-1] and "60.00" not in str(placed[-1])  # maxima stay private


def test_bid_below_minimum_is_400_and_changes_nothing():
    auction = live_auction(start="10.00")
    a, b = bidder(), bidder()
    bid(auction, a, "30.00")
    with pytest.raises(ApplicationError) as exc:
        bid(auction, b, "10.49")
    assert (exc.value.code, exc.value.status, exc.value.extra["minimum_bid"]) == ("bid_too_low", 400, "10.50")
    auction.refresh_from_db()
    assert (auction.bid_count, auction.version) == (1, 2)  # approve + one bid


@pytest.mark.parametrize("bad", ["10.001", "-5", "abc", None, 12.5, "", "1e3"])
def test_malformed_amounts_are_400(bad):
    auction = live_auction()
    with pytest.raises(ApplicationError) as exc:
        bid(auction, bidder(), bad)
    assert exc.value.status == 400 and exc.value.code in ("invalid_amount", "bid_too_low")


def test_leader_raising_keeps_the_price_and_must_go_above_their_maximum():
    auction = live_auction(start="10.00")
    a, b = bidder(), bidder()
    bid(auction, a, "30.00")
    bid(auction, b, "20.00")
    r = bid(auction, a, "80.00")
    assert (r.leading, r.auction.current_price) == (True, D("20.50"))
    assert held(a) == D("80.00")
    with pytest.raises(ApplicationError) as exc:
        bid(auction, a, "80.00")
    assert exc.value.code == "bid_too_low"


def test_own_auction_and_insufficient_funds_are_refused():
    vendor = VendorFactory()
    auction = live_auction(vendor=vendor)
    with pytest.raises(Forbidden) as exc:
        bid(auction, vendor.owner, "20.00")
    assert exc.value.code == "own_auction"
    poor = bidder("15.00")
    with pytest.raises(Conflict) as exc:
        bid(auction, poor, "20.00")
    assert exc.value.code == "insufficient_funds" and Auction.objects.get(pk=auction.pk).bid_count == 0


@override_settings(AUCTION_HOLD_FUNDS=False)
def test_holds_can_be_switched_off():
    auction = live_auction()
    poor = bidder("0.01")
    assert bid(auction, poor, "500.00").leading
    assert held(poor) == 0


def test_a_bid_one_millisecond_after_the_end_is_refused_before_the_closer_runs():
    auction = live_auction()
    a = bidder()
    with pytest.raises(Conflict) as exc:
        bid(auction, a, "20.00", now=auction.ends_at + timedelta(milliseconds=1))
    assert exc.value.code == "auction_ended"
    assert Auction.objects.get(pk=auction.pk).status == "live"


def test_not_live_auctions_refuse_bids_and_pending_ones_do_not_exist_for_bidders():
    vendor = VendorFactory()
    pending = services.auction_create(user=vendor.owner, title="x", start_price="5.00",
                                      ends_at=timezone.now() + timedelta(hours=1),
                                      starts_at=timezone.now() + timedelta(minutes=30))
    with pytest.raises(NotFound) as missing:  # pending approval: invisible to bidders
        bid(pending, bidder(), "5.00")
    assert missing.value.code == "auction_not_found"
    scheduled = services.auction_approve(user=AdminFactory(), auction_id=pending.pk)
    with pytest.raises(Conflict) as exc:
        bid(scheduled, bidder(), "5.00")
    assert exc.value.code == "auction_not_live"


def test_soft_close_extends_inside_the_window_and_stops_at_the_hard_end():
    auction = live_auction(ends_in=timedelta(seconds=60), hard_end_after=timedelta(seconds=90), window=120, extension=120)
    end0, hard = auction.ends_at, auction.hard_end
    a, b = bidder(), bidder()
    t = end0 - timedelta(seconds=30)
    r = bid(auction, a, "20.00", now=t)
    assert r.auction.ends_at == t + timedelta(seconds=120)
    ext = events(auction, "auction.extended")
    assert len(ext) == 1 and ext[0]["previous_ends_at"].startswith(end0.isoformat()[:19])
    r = bid(auction, b, "40.00", now=hard - timedelta(seconds=10))
    assert r.auction.ends_at == hard  # capped
    with pytest.raises(Conflict):
        bid(auction, a, "80.00", now=hard)


def test_bid_outside_the_window_does_not_extend():
    auction = live_auction(ends_in=timedelta(minutes=10))
    r = bid(auction, bidder(), "20.00")
    assert r.auction.ends_at == auction.ends_at and not events(auction, "auction.extended")


def test_close_sold_creates_a_paid_order_from_the_hold_and_releases_the_rest():
    product = ProductFactory(stock=3)
    auction = live_auction(vendor=product.vendor, product=product, start="10.00", reserve="25.00")
    assert Product.objects.get(pk=product.pk).stock == 2  # the listed unit
    a, b = bidder(), bidder()
    bid(auction, a, "40.00")
    bid(auction, b, "30.00")
    assert services.auction_close(auction_id=auction.pk) is False  # not due
    end = Auction.objects.get(pk=auction.pk).ends_at
    assert services.auction_close(auction_id=auction.pk, now=end) is True
    assert services.auction_close(auction_id=auction.pk, now=end) is False  # idempotent
    auction.refresh_from_db()
    assert (auction.status, auction.result, auction.final_price) == ("ended", "sold", D("31.00"))
    order = Order.objects.get(pk=auction.order_id)
    assert (order.status, order.total, order.buyer_id, order.source) == ("paid", D("31.00"), a.pk, "auction")
    wallet = Wallet.objects.get(user=a)
    assert (wallet.balance, wallet.held_balance) == (D("969.00"), D("0.00"))
    assert Notification.objects.filter(recipient=a, kind="auction.won").exists()
    closed = events(auction, "auction.closed")[-1]
    assert (closed["result"], closed["final_price"]) == ("sold", "31.00")
    assert Order.objects.count() == 1


def test_close_with_reserve_not_met_is_unsold_and_releases_everything():
    product = ProductFactory(stock=1)
    auction = live_auction(vendor=product.vendor, product=product, start="10.00", reserve="100.00")
    a = bidder()
    r = bid(auction, a, "60.00")
    assert r.auction.current_price == D("10.00") and events(auction, "auction.bid_placed")[-1]["reserve_met"] is False
    assert services.auction_close(auction_id=auction.pk, now=r.auction.ends_at) is True
    auction.refresh_from_db()
    assert (auction.result, auction.order_id) == ("unsold", None)
    assert held(a) == 0 and Product.objects.get(pk=product.pk).stock == 1
    assert not Order.objects.exists()


def test_reserve_met_event_once_the_maximum_reaches_it():
    auction = live_auction(start="10.00", reserve="50.00")
    bid(auction, bidder(), "40.00")
    r = bid(auction, bidder(), "55.00")
    assert r.auction.current_price == D("50.00")
    assert len(events(auction, "auction.reserve_met")) == 1


def test_buy_now_before_the_first_bid_then_unavailable():
    auction = live_auction(start="10.00", buy_now="99.00")
    buyer = bidder()
    order = services.auction_buy_now(auction_id=auction.pk, buyer=buyer)
    assert (order.status, order.total) == ("paid", D("99.00"))
    auction.refresh_from_db()
    assert (auction.status, auction.result, auction.final_price) == ("ended", "sold", D("99.00"))
    second = live_auction(start="10.00", buy_now="99.00")
    bid(second, bidder(), "10.00")
    with pytest.raises(Conflict) as exc:
        services.auction_buy_now(auction_id=second.pk, buyer=buyer)
    assert exc.value.code == "buy_now_unavailable"


def test_approval_and_cancel_rules():
    vendor = VendorFactory()
    auction = services.auction_create(user=vendor.owner, title="Lamp", start_price="5.00",
                                      ends_at=timezone.now() + timedelta(hours=1),
                                      starts_at=timezone.now() + timedelta(minutes=30))
    assert auction.status == "pending_approval"
    with pytest.raises(Forbidden):
        services.auction_approve(user=vendor.owner, auction_id=auction.pk)
    approved = services.auction_approve(user=AdminFactory(), auction_id=auction.pk)
    assert approved.status == "scheduled"
    assert services.auction_start(auction_id=auction.pk) is False
    assert services.auction_start(auction_id=auction.pk, now=auction.starts_at) is True
    cancelled = services.auction_cancel(user=vendor.owner, auction_id=auction.pk)
    assert cancelled.status == "cancelled"


@pytest.mark.parametrize("field, value", [("reserve_price", "4.00"), ("buy_now_price", "5.00"),
                                          ("soft_close_window_seconds", 0)])
def test_listing_validation(field, value):
    vendor = VendorFactory()
    kw = {"user": vendor.owner, "title": "x", "start_price": "5.00", "ends_at": timezone.now() + timedelta(hours=1), field: value}
    with pytest.raises(ApplicationError) as exc:
        services.auction_create(**kw)
    assert exc.value.fields and field in exc.value.fields


def test_ending_soon_is_sent_once_to_watchers():
    auction = live_auction(ends_in=timedelta(minutes=3))
    a = bidder()
    bid(auction, a, "20.00")
    assert services.auctions_notify_ending_soon() == 1
    assert services.auctions_notify_ending_soon() == 0
    assert Notification.objects.filter(recipient=a, kind="auction.ending_soon").count() == 1


def test_demo_seed_makes_a_live_auction_with_bids_once(debug_on):
    import io

    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    live = Auction.objects.filter(status="live", title__startswith="Demo:")
    assert live.count() == 1 and live.get().bid_count == 2
    assert Auction.objects.filter(status="scheduled", title__startswith="Demo:").count() == 1
