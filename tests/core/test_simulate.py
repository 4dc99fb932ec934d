"""``manage.py simulate`` against a real Daphne: the simulated clients' traffic goes through real
sockets and the summary reports what they measured."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.live


def test_simulate_plays_carts_and_chats_and_reports_latencies(live, tmp_path):
    out = tmp_path / "sim.json"
    call_command("simulate", url=live.url, carts=2, chats=1, duration=4, json_path=str(out))
    summary = json.loads(out.read_text())
    carts, chats = summary["scenarios"]["carts"], summary["scenarios"]["chats"]
    assert carts["counters"]["commands"] >= 2 and carts["errors"] == {}
    # every cart change reached the user's other device, with no gap or duplicate
    assert carts["counters"]["events received"] >= 2 * carts["counters"]["commands"]
    assert carts["counters"].get("events lost", 0) == 0 and carts["counters"].get("gaps", 0) == 0
    assert chats["counters"]["commands"] >= 2 and chats["errors"] == {}
    lat = summary["latency_ms"]
    assert lat["carts: command → other device"]["n"] == carts["counters"]["commands"]
    assert lat["chats: send → other side"]["n"] >= 2 and lat["chats: send → other side"]["p50"] > 0


def test_simulate_without_actors_is_a_clear_error(db):
    with pytest.raises(CommandError, match="nothing to simulate"):
        call_command("simulate")


def test_simulate_bidders_bid_in_the_final_seconds_and_watchers_see_them(live, tmp_path):
    out = tmp_path / "sim.json"
    call_command("simulate", url=live.url, bidders=10, duration=3, json_path=str(out))
    summary = json.loads(out.read_text())
    bidders = summary["scenarios"]["bidders"]
    assert bidders["counters"]["accepted bids"] >= 3
    assert set(bidders["errors"]) <= {"bid_too_low"}, live.log()[-6000:]  # only races lost to a faster bidder
    assert bidders["counters"].get("gaps", 0) == 0
    assert summary["latency_ms"]["bidders: bid → watcher"]["n"] == bidders["counters"]["accepted bids"]


def test_simulate_couriers_stream_and_buyers_watch(live, tmp_path):
    out = tmp_path / "sim.json"
    call_command("simulate", url=live.url, couriers=3, duration=4, json_path=str(out))
    summary = json.loads(out.read_text())
    couriers = summary["scenarios"]["couriers"]
    assert couriers["counters"]["positions sent"] == 12 and couriers["errors"] == {}, live.log()[-4000:]
    assert summary["latency_ms"]["couriers: position → watcher"]["n"] >= 3  # at least the first of each, throttled after
