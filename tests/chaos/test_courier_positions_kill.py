"""Couriers stream positions over real sockets while their Daphne is killed with ``kill -9``
and a new one takes over: every point the gateway acknowledged is in PostgreSQL exactly once
(issue 16 §5). The points a killed process had read from the stream but not stored are taken
over from its consumer by the restarted one (``XAUTOCLAIM``); those it had not read wait in the
stream. Sized for the 2-core machine (``COURIER_KILL_SOCKETS``, default 200 sockets, each at
the ``location`` bucket's sustained 2 points/s less a margin); the issue's 1,000 couriers run
in ``bench/hot_paths.py``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import connection
from websockets.asyncio.client import connect as aconnect

from commerce.orders.models import Order, OrderStatus
from core.models import Role, User
from core.redis import sync_client
from delivery import tracking
from delivery.models import Delivery, DeliveryStatus, LocationPoint
from tests.chaos.infra import wait_until
from tests.conftest import tokens_for
from tests.factories.commerce import VendorFactory
from tests.factories.delivery import DROP, PICK, point
from tests.live import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.chaos]

SOCKETS = int(os.environ.get("COURIER_KILL_SOCKETS", "200"))
PERIOD_S = 0.7  # per socket: under the `location` bucket's 120 per minute
RUN_S = 6.0  # before the kill, and again after the restart


def couriers_on_the_road(n: int) -> list[tuple[str, str]]:
    """``n`` picked-up deliveries, each with its own courier: ``(delivery id, access token)``.
    Made in bulk (the claim pipeline is tested elsewhere; here it would take most of the run)."""
    run = uuid.uuid4().hex[:8]
    vendor = VendorFactory()
    buyer = User.objects.create_user(f"kill-buyer-{run}@example.com", "x")
    couriers = User.objects.bulk_create([User(email=f"kill-courier-{run}-{i}@example.com", roles=[Role.COURIER],
                                              password="!") for i in range(n)])
    orders = Order.objects.bulk_create([
        Order(number=f"K{run[:6]}{i:05d}", buyer=buyer, vendor=vendor, status=OrderStatus.OUT_FOR_DELIVERY, currency="EUR",
              subtotal=Decimal("10.00"), total=Decimal("10.00"), shipping_address={"line1": f"Kill street {i}"})
        for i in range(n)])
    deliveries = Delivery.objects.bulk_create([
        Delivery(order=order, courier=c, status=DeliveryStatus.PICKED_UP, pickup_lat=PICK[0], pickup_lon=PICK[1],
                 dropoff_lat=DROP[0], dropoff_lon=DROP[1], pin="1234")
        for order, c in zip(orders, couriers)])
    return [(str(d.pk), tokens_for(c)["access"]) for d, c in zip(deliveries, couriers)]


class Fleet:
    """The sockets' shared state: where to connect, what was sent and what was acknowledged."""

    def __init__(self, url: str) -> None:
        self.url: str | None = url
        self.stop = False
        self.base = datetime.now(dt_timezone.utc) - timedelta(minutes=10)
        self.sent: set[tuple[str, int]] = set()
        self.acked: set[tuple[str, int]] = set()
        self.acked_after_restart = 0
        self.restarted = False
        self.errors: dict[str, int] = {}

    async def courier(self, i: int, delivery_id: str, token: str) -> None:
        k = 0
        topic = f"delivery:{delivery_id}"
        while not self.stop:
            url = self.url
            if url is None:
                await asyncio.sleep(0.05)
                continue
            try:
                async with aconnect(url, open_timeout=10, close_timeout=1) as ws:
                    await ws.send(json.dumps({"op": "auth", "ref": "a", "token": token}))
                    assert (await self.reply(ws, "a"))["status"] == "ok"
                    await asyncio.sleep((i % 10) * PERIOD_S / 10)  # spread the sockets over the period
                    while not self.stop and self.url == url:
                        ts = self.base + timedelta(seconds=k)
                        # 1 m further north per second: never a jump, never near the drop-off
                        data = point(ts, PICK[0] + k * 0.000009, PICK[1])
                        key = (delivery_id, tracking.to_us(ts))
                        self.sent.add(key)
                        await ws.send(json.dumps({"op": "command", "ref": str(k), "topic": topic, "name": "location",
                                                  "data": data}))
                        reply = await self.reply(ws, str(k))
                        if reply["status"] == "ok":
                            # kept, rejected, or dropped as already known: in the stream either way
                            assert sum(reply["data"][n] for n in ("kept", "rejected", "dropped")) == 1, reply
                            self.acked.add(key)
                            self.acked_after_restart += self.restarted
                            k += 1
                        else:
                            code = reply["error"]["code"]
                            self.errors[code] = self.errors.get(code, 0) + 1
                        await asyncio.sleep(PERIOD_S)
            except (OSError, asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 - the server was killed
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
                await asyncio.sleep(0.2)

    @staticmethod
    async def reply(ws, ref: str) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame.get("op") == "reply" and frame.get("ref") == ref:
                return frame


def stored_points(delivery_ids: list[str]) -> list[tuple[str, int]]:
    rows = LocationPoint.objects.filter(delivery_id__in=delivery_ids).values_list("delivery_id", "ts")
    return [(str(d), tracking.to_us(ts)) for d, ts in rows]


def test_every_acknowledged_point_is_stored_exactly_once_when_daphne_is_killed_mid_run(transactional_db, tmp_path):
    fleet_data = couriers_on_the_road(SOCKETS)
    ids = [d for d, _ in fleet_data]
    prefix = f"dl-kill-{uuid.uuid4().hex[:8]}"  # its own stream: only these servers consume it
    env = {"DELIVERY_REDIS_PREFIX": prefix, "DELIVERY_PERSIST_CLAIM_IDLE_S": "2"}
    first = LiveServer(tmp_path / "first.log", **env)
    second = None
    fleet = Fleet(first.ws_url)
    redis = sync_client()
    stream = f"{prefix}:points"

    async def drive() -> None:
        await asyncio.gather(*(fleet.courier(i, d, t) for i, (d, t) in enumerate(fleet_data)))

    sockets = threading.Thread(target=asyncio.run, args=(drive(),), daemon=True)
    try:
        sockets.start()
        time.sleep(RUN_S)
        # kill while acknowledged points wait in the buffer (a flush may have just emptied it)
        deadline = time.monotonic() + 5
        while len(stored_points(ids)) >= len(fleet.acked) and time.monotonic() < deadline:
            time.sleep(0.05)
        fleet.url = None
        first.proc.send_signal(signal.SIGKILL)  # kill -9: no clean-up, no last batch
        first.proc.wait(10)
        acked_at_kill, stored_at_kill, buffered_at_kill = len(fleet.acked), len(stored_points(ids)), redis.xlen(stream)
        second = LiveServer(tmp_path / "second.log", **env)
        fleet.restarted = True
        fleet.url = second.ws_url
        time.sleep(RUN_S)
        fleet.stop = True
        sockets.join(30)
        assert not sockets.is_alive()
        # the kill caught acknowledged points that were not stored yet
        assert buffered_at_kill > 0 and stored_at_kill < acked_at_kill, (acked_at_kill, stored_at_kill, buffered_at_kill)
        assert acked_at_kill >= SOCKETS * 3 and fleet.acked_after_restart >= SOCKETS * 3, (len(fleet.acked), fleet.errors)
        wait_until(lambda: fleet.acked <= set(stored_points(ids)), timeout=45, interval=0.5,
                   what="every acknowledged point stored")
        stored = stored_points(ids)
        assert len(stored) == len(set(stored))  # exactly once (the unique key (delivery, ts) holds it too)
        assert set(stored) <= fleet.sent  # nothing invented; unacknowledged in-flight points may or may not be there
        wait_until(lambda: redis.xlen(stream) == 0, timeout=10, what="the buffer drained")
        assert redis.xpending(stream, tracking.GROUP)["pending"] == 0
        with connection.cursor() as cur:  # the deliveries' last position followed the batches
            cur.execute("SELECT count(*) FROM delivery_delivery WHERE id = ANY(%s::uuid[]) AND last_ts IS NOT NULL", [ids])
            assert cur.fetchone()[0] == len(ids)
    finally:
        fleet.stop = True
        for server in (first, second):
            if server is not None:
                server.stop()
        redis.delete(stream, f"{prefix}:flush")
