"""``delivery.tracking``: the Redis-first position path. The script checks a point against the
last accepted point kept in Redis and buffers it in the stream without touching PostgreSQL; the
batch writer stores each point once, however often an entry is delivered, and takes over what a
dead consumer left; a status change drops the cached access so the next point sees it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from core.redis import sync_client
from delivery import services, tracking
from delivery.models import Delivery, LocationPoint
from tests.factories.delivery import PICK, courier, point, ready_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimed():
    d = ready_delivery()
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="picked_up")
    return Delivery.objects.get(pk=d.pk), c


def clean(raw: dict, now):
    return services.clean_point(raw, now=now)


def send(d, c, raw, now):
    return tracking.ingest(delivery_id=d.pk, user_id=c.pk, point=clean(raw, now), now=now)


@pytest.fixture(autouse=True)
def empty_stream():
    client = sync_client()
    client.delete(tracking.stream_key(), tracking.flush_key())
    yield
    client.delete(tracking.stream_key(), tracking.flush_key())


def test_points_are_filtered_against_the_last_point_in_redis_and_only_buffered_until_the_writer_runs(claimed):
    d, c = claimed
    t0 = timezone.now() - timedelta(seconds=60)
    assert send(d, c, point(t0, *PICK), t0).outcome == "miss"  # access not loaded yet: the caller loads it
    assert tracking.load_access(delivery_id=d.pk)
    first = send(d, c, point(t0, *PICK), t0)
    assert (first.outcome, first.kept, first.send) == ("ok", True, "now")
    assert send(d, c, point(t0, *PICK), t0).outcome == "dropped"  # same ts again
    jump = send(d, c, point(t0 + timedelta(seconds=10), PICK[0] + 0.01, PICK[1]), t0 + timedelta(seconds=10))
    assert (jump.kept, jump.send) == (False, "none")  # 1.1 km in 10 s from the last point in Redis
    vague = send(d, c, point(t0 + timedelta(seconds=11), PICK[0] + 0.0001, PICK[1], accuracy=150), t0 + timedelta(seconds=11))
    assert (vague.kept, vague.broadcastable, vague.send) == (True, False, "none")
    assert tracking.last_position(d.pk)["lat"] == pytest.approx(PICK[0] + 0.0001)  # the newest kept point
    assert not LocationPoint.objects.filter(delivery=d).exists()  # nothing written on the way
    assert tracking.persist_pending(consumer="writer") == 3
    rows = list(LocationPoint.objects.filter(delivery=d).order_by("ts").values_list("kept", "broadcastable", "reject_reason"))
    assert rows == [(True, True, ""), (False, False, "jump"), (True, False, "")]
    d.refresh_from_db()
    assert d.last_lat == pytest.approx(PICK[0] + 0.0001) and d.last_ts == t0 + timedelta(seconds=11)
    assert sync_client().xlen(tracking.stream_key()) == 0  # acknowledged and deleted


def test_a_dead_consumers_entries_are_taken_over_and_a_redelivered_batch_is_stored_once(claimed):
    d, c = claimed
    tracking.load_access(delivery_id=d.pk)
    t0 = timezone.now() - timedelta(seconds=60)
    for i in range(20):
        assert send(d, c, point(t0 + timedelta(seconds=i), PICK[0] + i * 0.00001, PICK[1]), t0 + timedelta(seconds=i)).kept
    client = sync_client()
    read = tracking.read_batch(client, consumer="dead", count=100, claim_idle_ms=None)  # read, then killed
    assert len(read) == 20 and not LocationPoint.objects.filter(delivery=d).exists()
    assert tracking.persist_pending(consumer="alive", claim_idle_ms=0) == 20  # takes them over
    tracking.write_points(read)  # the dead one's write lands late: the unique key keeps one row each
    assert tracking.persist_pending(consumer="alive", claim_idle_ms=0) == 0
    assert LocationPoint.objects.filter(delivery=d).count() == 20
    assert client.xpending(tracking.stream_key(), tracking.GROUP)["pending"] == 0


def test_the_writer_skips_points_of_a_delivery_that_no_longer_exists(claimed):
    d, c = claimed
    tracking.load_access(delivery_id=d.pk)
    now = timezone.now()
    send(d, c, point(now, *PICK), now)
    entries = tracking.read_batch(sync_client(), consumer="w", count=10, claim_idle_ms=None)
    entries.append(("0-1", {**entries[0][1], "d": "00000000-0000-0000-0000-000000000000"}))
    assert tracking.write_points(entries) == 1


def test_a_status_change_drops_the_cached_access_and_the_next_point_sees_tracking_ended(claimed,
                                                                                      django_capture_on_commit_callbacks):
    d, c = claimed
    tracking.load_access(delivery_id=d.pk)
    now = timezone.now()
    assert send(d, c, point(now, *PICK), now).outcome == "ok"
    assert send(d, courier(), point(now + timedelta(seconds=1), *PICK), now).outcome == "not_assigned"
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_complete(courier=c, delivery_id=d.pk, pin=d.pin)
    assert send(d, c, point(now + timedelta(seconds=2), *PICK), now).outcome == "miss"
    tracking.load_access(delivery_id=d.pk)
    assert send(d, c, point(now + timedelta(seconds=2), *PICK), now).outcome == "ended"


def test_a_loader_that_read_before_a_change_does_not_write_the_old_access_back(claimed):
    d, c = claimed
    seen = tracking.generation(d.pk)
    tracking.forget(d.pk)  # a change commits while the loader holds its (old) row
    assert tracking.store_access(d, seen=seen) is False
    assert not sync_client().exists(tracking.key(d.pk, "acc"))
    assert tracking.store_access(d, seen=tracking.generation(d.pk)) is True


def test_the_flush_sends_the_newest_held_point_once_its_window_opens(claimed):
    d, c = claimed
    tracking.load_access(delivery_id=d.pk)
    t0 = timezone.now() - timedelta(seconds=30)
    assert send(d, c, point(t0, *PICK), t0).send == "now"
    for k in (1, 2):
        at = t0 + timedelta(seconds=0.5 * k)
        assert send(d, c, point(at, PICK[0] + k * 0.0001, PICK[1], speed=4.0), at).send == "deferred"
    assert tracking.take_due(now=t0 + timedelta(seconds=1.9)) == []
    due = tracking.take_due(now=t0 + timedelta(seconds=2.0))
    assert [f.point["lat"] for f in due] == [pytest.approx(PICK[0] + 0.0002)] and due[0].speeds == (4.0, 4.0, 5.0)  # newest first
    assert tracking.take_due(now=t0 + timedelta(seconds=5)) == []


def test_a_late_flush_keeps_the_broadcast_grid(claimed):
    """Newest point once per interval on a fixed grid: a flush 80 ms late does not move the next
    window 80 ms later (it used to, so a courier's broadcasts drifted by the flush delay every
    interval); a flush a whole interval late starts the grid again instead of sending twice."""
    d, c = claimed
    tracking.load_access(delivery_id=d.pk)
    t0 = timezone.now() - timedelta(seconds=60)
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    assert send(d, c, point(at(0), *PICK), at(0)).send == "now"
    assert send(d, c, point(at(1), PICK[0] + 0.0001, PICK[1]), at(1)).send == "deferred"
    assert len(tracking.take_due(now=at(2.08))) == 1  # the window opened at 2.0
    assert send(d, c, point(at(3), PICK[0] + 0.0002, PICK[1]), at(3)).send == "deferred"
    assert tracking.take_due(now=at(3.99)) == []
    assert [f.point["lat"] for f in tracking.take_due(now=at(4.0))] == [pytest.approx(PICK[0] + 0.0002)]

    assert send(d, c, point(at(5), PICK[0] + 0.0003, PICK[1]), at(5)).send == "deferred"
    assert len(tracking.take_due(now=at(8.5))) == 1  # opened at 6.0: missed by more than an interval
    assert send(d, c, point(at(9), PICK[0] + 0.0004, PICK[1]), at(9)).send == "deferred"
    assert tracking.take_due(now=at(10.49)) == []
    assert len(tracking.take_due(now=at(10.5))) == 1


def test_the_worker_knows_when_the_earliest_window_opens(claimed):
    """The flush loop sleeps until the earliest held-back point's window opens (bounded to
    10–100 ms), so a point leaves within milliseconds of its window, not up to 100 ms later; the
    flush script itself says when that is."""
    d, c = claimed
    tracking.load_access(delivery_id=d.pk)
    t0 = timezone.now() - timedelta(seconds=10)
    assert asyncio.run(tracking.take_due_async(now=t0)) == ([], None)
    send(d, c, point(t0, *PICK), t0)
    send(d, c, point(t0 + timedelta(seconds=1), PICK[0] + 0.0001, PICK[1]), t0 + timedelta(seconds=1))
    taken, due = asyncio.run(tracking.take_due_async(now=t0 + timedelta(seconds=1.5)))
    assert taken == [] and due == pytest.approx((t0 + timedelta(seconds=2)).timestamp(), abs=0.002)
    taken, due = asyncio.run(tracking.take_due_async(now=t0 + timedelta(seconds=2)))
    assert len(taken) == 1 and due is None
