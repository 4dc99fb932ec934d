"""The real input of bench/hot_paths.py (bench/data/, bench/hot/data.py) and its final-price
replay check (bench/hot/bids.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from auctions import services
from bench.hot.bids import replay_check
from bench.hot.data import CourierReplay, assign_tracks, load_auctions, load_tracks
from delivery.geo import haversine_m
from tests.factories.auctions import bidder, live_auction


def test_tracks_are_read_with_their_timing():
    tracks = {t.name: t for t in load_tracks()}
    assert set(tracks) == {"visnjan-car-etrex", "cerknica-lake", "denver-vehicle-trace-1", "denver-vehicle-trace-2",
                           "denver-vehicle-trace-3"}
    assert len(tracks["visnjan-car-etrex"].fixes) == 104 and tracks["visnjan-car-etrex"].timing == "recorded"
    assert tracks["visnjan-car-etrex"].duration_s == 514  # 06:15:50 → 06:24:24
    assert len(tracks["denver-vehicle-trace-1"].fixes) == 1053 and tracks["denver-vehicle-trace-1"].mean_rate_hz == 1.0
    for t in tracks.values():
        assert all(b.t > a.t for a, b in zip(t.fixes, t.fixes[1:]))


def test_every_prefix_of_the_couriers_keeps_a_fifth_on_gpx_tracks():
    assigned = assign_tracks(load_tracks(), 1000)
    for n in (10, 100, 1000):
        gpx = sum(1 for t in assigned[:n] if t.timing == "recorded")
        assert gpx == n // 5


def test_couriers_start_apart_and_continue_their_route_across_steps_without_a_jump():
    tracks = load_tracks()
    denver = next(t for t in tracks if t.name == "denver-vehicle-trace-3")
    replays = [CourierReplay(denver, i) for i in range(50)]
    assert len({r.pos for r in replays}) == 50  # 50 couriers, 50 start fixes
    starts = sorted(r.pos for r in replays)
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 10  # spread over the trace, not bunched
    first = [r.take(0.0, 5.0)[0] for r in replays]
    assert len({round(p["t"], 3) for p in first}) == 50  # and 50 phases within the first second
    r = CourierReplay(denver, 7)
    points = r.take(0.0, 600.0) + r.take(900.0, 900.0)  # a pause between two steps, past the track's end
    assert len(points) == 600 + 900
    for a, b in zip(points, points[1:]):
        assert b["t"] > a["t"]
        assert haversine_m(a["lat"], a["lon"], b["lat"], b["lon"]) / (b["t"] - a["t"]) < 40  # a car, never a jump


def test_gpx_couriers_keep_the_recorded_gaps():
    visnjan = next(t for t in load_tracks() if t.name == "visnjan-car-etrex")
    r = CourierReplay(visnjan, 0)
    points = r.take(0.0, 400.0)
    gaps = [round(b["t"] - a["t"], 3) for a, b in zip(points, points[1:])]
    recorded = [b.t - a.t for a, b in zip(visnjan.fixes, visnjan.fixes[1:])]
    assert gaps == recorded[:len(gaps)]


def test_ebay_auctions_are_read_in_bid_time_order():
    auctions = load_auctions()
    assert len(auctions) == 628
    assert sum(len(a.bids) for a in auctions) == 10681
    first = auctions[0]
    assert first.id == "1638893549" and first.days == 3 and first.open_bid == Decimal("99.00")
    assert first.final_price == Decimal("177.50") and first.bids[0].max_bid == Decimal("175.00")
    for a in auctions:
        assert all(b.t_days >= x.t_days for x, b in zip(a.bids, a.bids[1:]))


@pytest.mark.django_db(transaction=True)
def test_replay_check_accepts_the_engines_prices_and_catches_a_wrong_stored_price():
    from auctions.models import Auction, Bid

    auction = live_auction(start="10.00")
    alice, bob = bidder(), bidder()
    for who, amount in ((alice, "20.00"), (bob, "15.00"), (bob, "30.00"), (alice, "31.00")):
        services.auction_place_bid(auction_id=auction.pk, bidder=who, max_amount=amount)
    ok = replay_check([str(auction.pk)])
    assert ok["ok"] == 1 and ok["bids"] == 4 and ok["invalid_bids"] == 0 and ok["final_mismatch"] == []
    Auction.objects.filter(pk=auction.pk).update(current_price=Decimal("29.00"))
    Bid.objects.filter(auction=auction, version=Bid.objects.filter(auction=auction).order_by("version").first().version
                       ).update(price_after=Decimal("11.00"))
    bad = replay_check([str(auction.pk)])
    assert bad["ok"] == 0 and bad["price_after_mismatch"] == 1 and bad["final_mismatch"] == [str(auction.pk)]
