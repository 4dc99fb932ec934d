#!/usr/bin/env python
"""Benchmark: bids through the WebSocket gateway — the ``bid`` command on ``auction:<id>``
(proxy-bid rules, row lock, wallet holds, outbox, fan-out) — round trips per second with p50/p99,
and the latency from a bid's send to the ``auction.bid_placed`` event on a watcher's socket.

    .venv/bin/python bench/auction_bids.py            # full run (~1 min)
    .venv/bin/python bench/auction_bids.py --quick    # smoke test

Like ``bench/chat_socket.py``: a throw-away database (``test_marketplace_bidbench``) on the
embedded PostgreSQL, Redis DB 14 (flushed), one real Daphne process with production WebSocket
flags and the per-connection bid limit raised (the benchmark measures the path, not the limiter).
B bidders (own socket each, funded wallets, holds on) and W watchers subscribe to one live
auction. Phases — *paced*: the bidders together send a fixed rate; *saturated*: every bidder sends
its next bid as soon as its previous reply arrived. Each bid offers the minimum bid the bidder last
saw plus 0–3 increments, so under contention some arrive too low (``bid_too_low``): they are
round trips too (judged under the same lock) and are counted apart from accepted bids.
Latency to watchers is matched by the auction ``version`` each accepted bid produced.
Writes ``bench/results/auction_bids.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, bench_database, percentile, setup_django, start_daphne  # noqa: E402

SETTINGS = """
from core.settings_test import *  # noqa
AUCTION_BID_BUCKET = (1_000_000, 60_000_000)
REALTIME["COMMAND_BURST"] = 1_000_000
REALTIME["COMMAND_PER_MINUTE"] = 60_000_000
LOGGING["root"]["level"] = "ERROR"
"""


def pct(values: list[float], p: float) -> float | None:
    x = percentile(values, p)
    return None if x is None else round(x, 1)


def make_auction(bidders: int, watchers: int) -> dict:
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from auctions import services
    from commerce.stores.models import Vendor, VendorStaff
    from commerce.wallet.models import LedgerKind
    from commerce.wallet.services import wallet_credit
    from core.models import Role, User

    run = int(time.time())
    owner = User.objects.create_user(f"bid-owner-{run}@example.com", "x", roles=[Role.VENDOR])
    admin = User.objects.create_user(f"bid-admin-{run}@example.com", "x", roles=[Role.ADMIN], is_staff=True)
    vendor = Vendor.objects.create(name=f"Bid store {run}", slug=f"bid-store-{run}", owner=owner, status="active")
    VendorStaff.objects.create(vendor=vendor, user=owner, role="owner")
    auction = services.auction_create(user=owner, vendor_id=vendor.pk, title="Bench lot", start_price="1.00",
                                      ends_at=timezone.now() + timedelta(hours=2))
    services.auction_approve(user=admin, auction_id=auction.pk)
    tokens = {"bidders": [], "watchers": []}
    for i in range(bidders):
        u = User.objects.create_user(f"bidder-{run}-{i}@example.com", "x")
        wallet_credit(user=u, amount=Decimal("10000000.00"), currency="EUR", kind=LedgerKind.DEPOSIT)
        tokens["bidders"].append(str(AccessToken.for_user(u)))
    for i in range(watchers):
        u = User.objects.create_user(f"watcher-{run}-{i}@example.com", "x")
        tokens["watchers"].append(str(AccessToken.for_user(u)))
    return {"id": str(auction.pk), **tokens}


class Sock:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future] = {}
        self.ref = 0
        self.on_event = None
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for raw in self.ws:
            f = json.loads(raw)
            if f.get("op") == "reply":
                fut = self.pending.pop(f.get("ref"), None)
                if fut and not fut.done():
                    fut.set_result(f)
            elif f.get("op") == "event" and self.on_event:
                self.on_event(f)

    async def req(self, op: str, **fields) -> dict:
        self.ref += 1
        ref = str(self.ref)
        fut = asyncio.get_running_loop().create_future()
        self.pending[ref] = fut
        await self.ws.send(json.dumps({"op": op, "ref": ref, **fields}))
        return await asyncio.wait_for(fut, 30)


async def run(ws_url: str, a: dict, *, paced_rate: float, paced_s: float, saturated_s: float) -> dict:
    import websockets

    topic = f"auction:{a['id']}"
    sent_at: dict[int, float] = {}
    seen_at: dict[int, list[float]] = {}
    rtt: dict[str, list[float]] = {"paced": [], "saturated": []}
    fan: dict[str, list[float]] = {"paced": [], "saturated": []}
    counts = {ph: {"accepted": 0, "too_low": 0, "errors": {}} for ph in rtt}
    phase = {"name": "paced"}
    state = {"minimum": Decimal("1.00")}

    def watch(f) -> None:
        if f.get("type") != "auction.bid_placed":
            return
        v, now = f["data"]["version"], time.perf_counter()
        state["minimum"] = max(state["minimum"], Decimal(f["data"]["minimum_bid"]))
        if v in sent_at:
            fan[phase["name"]].append((now - sent_at[v]) * 1000)
        else:
            seen_at.setdefault(v, []).append(now)

    async def open_sock(token: str) -> Sock:
        ws = await websockets.connect(ws_url, max_size=2**20, ping_interval=None)
        s = Sock(ws)
        assert (await s.req("auth", token=token))["status"] == "ok"
        r = await s.req("subscribe", topic=topic)
        assert r["status"] == "ok", r
        return s

    bidders = [await open_sock(t) for t in a["bidders"]]
    watchers = [await open_sock(t) for t in a["watchers"]]
    for w in watchers:
        w.on_event = watch
    rng = random.Random(3)
    inc = Decimal("0.25")

    async def one_bid(s: Sock) -> None:
        amount = state["minimum"] + inc * rng.randint(0, 3)
        t0 = time.perf_counter()
        r = await s.req("command", topic=topic, name="bid", data={"max_amount": f"{amount:.2f}"})
        t1 = time.perf_counter()
        ph = phase["name"]
        rtt[ph].append((t1 - t0) * 1000)
        if r["status"] == "ok":
            counts[ph]["accepted"] += 1
            v = r["data"]["version"]
            state["minimum"] = max(state["minimum"], Decimal(r["data"]["minimum_bid"]))
            sent_at[v] = t0
            for t in seen_at.pop(v, []):
                fan[ph].append((t - t0) * 1000)
        else:
            code = r["error"]["code"]
            if code == "bid_too_low":
                counts[ph]["too_low"] += 1
                state["minimum"] = max(state["minimum"], Decimal(r["error"].get("minimum_bid", "0")))
            else:
                counts[ph]["errors"][code] = counts[ph]["errors"].get(code, 0) + 1

    # paced: one bid every 1/rate seconds over all bidders, round-robin
    start = time.perf_counter()
    tasks, i = [], 0
    while time.perf_counter() - start < paced_s:
        tasks.append(asyncio.create_task(one_bid(bidders[i % len(bidders)])))
        i += 1
        await asyncio.sleep(max(0.0, start + i / paced_rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    paced_elapsed = time.perf_counter() - start
    await asyncio.sleep(1.0)
    phase["name"] = "saturated"

    async def loop(s: Sock, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await one_bid(s)

    start = time.perf_counter()
    await asyncio.gather(*(loop(s, start + saturated_s) for s in bidders))
    sat_elapsed = time.perf_counter() - start
    await asyncio.sleep(1.0)
    for s in bidders + watchers:
        s.task.cancel()
        await s.ws.close()

    def block(ph: str, elapsed: float) -> dict:
        n = len(rtt[ph])
        return {"round_trips": n, "round_trips_per_s": round(n / elapsed, 1),
                "accepted": counts[ph]["accepted"], "accepted_per_s": round(counts[ph]["accepted"] / elapsed, 1),
                "too_low": counts[ph]["too_low"], "errors": counts[ph]["errors"],
                "rtt_p50_ms": pct(rtt[ph], 50), "rtt_p99_ms": pct(rtt[ph], 99),
                "to_watcher_p50_ms": pct(fan[ph], 50), "to_watcher_p99_ms": pct(fan[ph], 99),
                "watcher_deliveries": len(fan[ph])}

    return {"paced": block("paced", paced_elapsed) | {"offered_rate": paced_rate},
            "saturated": block("saturated", sat_elapsed) | {"in_flight": len(bidders)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--bidders", type=int, default=16)
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--paced-rate", type=float, default=20.0)
    args = parser.parse_args()
    paced_s, sat_s = (5.0, 5.0) if args.quick else (15.0, 20.0)
    wall = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="bidbench-"))
    settings_module = setup_django(tmp, name="bids", settings_text=SETTINGS)
    load_start = os.getloadavg()
    server = None
    with bench_database("bids"):
        try:
            auction = make_auction(args.bidders, args.watchers)
            server = start_daphne(tmp, settings_module)
            print(f"daphne on {server.ws_url}; {args.bidders} bidders, {args.watchers} watchers", flush=True)
            result = asyncio.run(run(server.ws_url, auction, paced_rate=args.paced_rate, paced_s=paced_s, saturated_s=sat_s))
        finally:
            if server is not None:
                server.stop()
    result.update({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick,
        "bidders": args.bidders, "watchers": args.watchers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": [round(x, 2) for x in load_start], "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(time.monotonic() - wall, 1),
    })
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "auction_bids.json").write_text(json.dumps(result, indent=2) + "\n")
    p, s = result["paced"], result["saturated"]
    row = lambda name, load, b: (f"| {name} | {load} | {b['round_trips']} | {b['round_trips_per_s']} | {b['accepted_per_s']} | "  # noqa: E731
                                 f"{b['too_low']} | {b['rtt_p50_ms']} | {b['rtt_p99_ms']} | {b['to_watcher_p50_ms']} | {b['to_watcher_p99_ms']} | {b['errors'] or '-'} |")
    md = f"""# Bids through the socket

Generated by `bench/auction_bids.py` on {result['generated_at']} in {result['wall_seconds']} s; {os.cpu_count()} CPUs, one
Daphne process, embedded PostgreSQL and Redis and the client share them (load average {result['load_average_start']} →
{result['load_average_end']}). {args.bidders} bidders (own socket, wallet holds on) and {args.watchers} watchers on one live auction.

| phase | load | round trips | round trips/s | accepted/s | too low | rtt p50 ms | rtt p99 ms | to watcher p50 ms | to watcher p99 ms | other errors |
|---|---|---|---|---|---|---|---|---|---|---|
{row('paced', f"{p['offered_rate']} bids/s offered", p)}
{row('saturated', f"{s['in_flight']} in flight", s)}
"""
    (RESULTS_DIR / "auction_bids.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
