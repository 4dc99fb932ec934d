#!/usr/bin/env python
"""Benchmark: chat messages through the WebSocket gateway, from the sender's ``send`` command to
the ``chat.message`` event on the other participant's socket.

Run from the project root (about a minute on 2 cores):

    .venv/bin/python bench/chat_socket.py            # full run
    .venv/bin/python bench/chat_socket.py --quick    # smoke test (~25 s)

What it does:

1. creates a throw-away PostgreSQL database (``test_marketplace_chatbench``, migrated, dropped at
   the end) on the project's embedded server and uses Redis DB 13 (flushed first; see ``bench/common.py``);
2. starts one real Daphne process (``tests.live.LiveServer``, production WebSocket flags) with
   the test settings plus raised chat limits (no per-user or per-connection send limit: the
   benchmark measures the path, not the limiter);
3. creates P conversations (a buyer and a store owner each); every buyer and every owner opens a
   socket, authenticates and subscribes to its ``chat:<id>`` (both sides present: no offline
   notifications are created);
4. phases — *paced*: the buyers together send a fixed rate (default 10 msg/s) for a while: latency
   without saturation; *saturated*: every buyer sends its next message as soon as the reply to the
   previous one arrives (one command in flight per socket, P in flight in total) for a fixed time:
   throughput and latency under load.

Latency = time the vendor's socket received ``chat.message`` minus the time just before the buyer's
socket sent the ``send`` frame (one process, one monotonic clock). A message counts as delivered
when its event arrived on the vendor's socket; ``seq`` order is checked per conversation.
Messages/s = delivered messages / (first send → last delivery). The sending and receiving client
runs in this process and shares the 2 CPUs with Daphne, PostgreSQL and Redis.

Writes ``bench/results/chat_socket.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, bench_database, percentile, setup_django, start_daphne  # noqa: E402

SETTINGS = """
from core.settings_test import *  # noqa
CHAT_SEND_RATE_LIMITS = []
CHAT_SOCKET_SEND_BUCKET = (1_000_000, 60_000_000)
REALTIME["COMMAND_BURST"] = 1_000_000
REALTIME["COMMAND_PER_MINUTE"] = 60_000_000
LOGGING["root"]["level"] = "ERROR"
"""




def make_conversations(n: int) -> list[dict]:
    """``n`` conversations: {"id", "buyer_token", "vendor_token"}."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from chat import services
    from commerce.catalog.models import Category, Product
    from commerce.stores.models import Vendor, VendorStaff
    from core.models import User

    run = int(time.time())
    category = Category.objects.create(name=f"Bench {run}", slug=f"bench-{run}")
    out = []
    for i in range(n):
        buyer = User.objects.create_user(f"bench-buyer-{run}-{i}@example.com", "x", display_name=f"Buyer {i}")
        owner = User.objects.create_user(f"bench-owner-{run}-{i}@example.com", "x", display_name=f"Owner {i}")
        vendor = Vendor.objects.create(name=f"Store {run}-{i}", slug=f"store-{run}-{i}", owner=owner, status="active")
        VendorStaff.objects.create(vendor=vendor, user=owner, role="owner")
        product = Product.objects.create(vendor=vendor, category=category, name=f"Part {i}", slug=f"part-{run}-{i}",
                                         sku=f"B-{i}", price="10.00", stock=5)
        conv = services.conversation_start(user=buyer, vendor_id=vendor.pk, context_type="product", context_id=product.pk)
        out.append({
            "id": str(conv.conversation.pk),
            "buyer_token": str(RefreshToken.for_user(buyer).access_token),
            "vendor_token": str(RefreshToken.for_user(owner).access_token),
        })
    return out


class Side:
    """One authenticated socket subscribed to one conversation, with a reader task."""

    def __init__(self, ws, topic: str) -> None:
        self.ws = ws
        self.topic = topic
        self.replies: dict[str, asyncio.Future] = {}
        self.on_message = None  # callable(event dict, receive time)
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url: str, token: str, topic: str) -> "Side":
        from websockets.asyncio.client import connect

        ws = await connect(url, max_size=2**22, open_timeout=10)
        await ws.send(json.dumps({"op": "auth", "ref": "a", "token": token}))
        assert json.loads(await ws.recv())["status"] == "ok"
        await ws.send(json.dumps({"op": "subscribe", "ref": "s", "topic": topic}))
        reply = json.loads(await ws.recv())
        assert reply["status"] == "ok", reply
        return cls(ws, topic)

    async def _read(self) -> None:
        async for raw in self.ws:
            t = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("op") == "reply":
                fut = self.replies.pop(frame.get("ref"), None)
                if fut is not None and not fut.done():
                    fut.set_result(frame)
            elif frame.get("op") == "event" and frame.get("type") == "chat.message" and self.on_message:
                self.on_message(frame, t)

    async def command(self, ref: str, name: str, data: dict) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self.replies[ref] = fut
        await self.ws.send(json.dumps({"op": "command", "ref": ref, "topic": self.topic, "name": name, "data": data}))
        return await fut


async def run_phases(ws_url: str, convs: list[dict], *, paced_rate: float, paced_seconds: float,
                     saturated_seconds: float) -> dict:
    pairs = []
    for c in convs:
        topic = f"chat:{c['id']}"
        buyer = await Side.open(ws_url, c["buyer_token"], topic)
        vendor = await Side.open(ws_url, c["vendor_token"], topic)
        pairs.append((buyer, vendor))

    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    last_seq: dict[str, int] = {}
    out_of_order = [0]

    def on_message(frame: dict, t: float) -> None:
        data = frame["data"]
        cid = data["client_msg_id"]
        if cid in sent and cid not in received:
            received[cid] = t
        conv = data["conversation_id"]
        if data["seq"] <= last_seq.get(conv, 0):
            out_of_order[0] += 1
        last_seq[conv] = data["seq"]

    for _, vendor in pairs:
        vendor.on_message = on_message
    counter = [0]
    errors: list[str] = []

    async def send_one(buyer: Side, phase: str) -> None:
        counter[0] += 1
        cid = f"{phase}-{counter[0]}"
        sent[cid] = time.perf_counter()
        reply = await buyer.command(cid, "send", {"text": f"Is part {counter[0]} in stock?", "client_msg_id": cid})
        if reply["status"] != "ok":
            errors.append(reply["error"]["code"])
            sent.pop(cid, None)

    async def settle(ids: list[str], timeout: float = 20.0) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and any(i not in received for i in ids):
            await asyncio.sleep(0.02)

    def r1(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    def summary(phase: str, started: float) -> dict:
        ids = [i for i in sent if i.startswith(phase + "-")]
        lat = [(received[i] - sent[i]) * 1000 for i in ids if i in received]
        end = max((received[i] for i in ids if i in received), default=started)
        elapsed = end - started
        return {
            "sent": len(ids), "delivered": len(lat), "lost": len(ids) - len(lat),
            "messages_per_s": round(len(lat) / elapsed, 1) if elapsed > 0 else None,
            "p50_ms": r1(percentile(lat, 50)), "p90_ms": r1(percentile(lat, 90)),
            "p99_ms": r1(percentile(lat, 99)), "max_ms": round(max(lat), 1) if lat else None,
            "elapsed_s": round(elapsed, 2),
        }

    # warm-up
    await asyncio.gather(*(send_one(b, "warm") for b, _ in pairs))
    await settle([i for i in sent if i.startswith("warm-")])

    # paced: a fixed total rate spread over the buyers
    started = time.perf_counter()
    tasks = []
    n = int(paced_rate * paced_seconds)
    for k in range(n):
        target = started + k / paced_rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        tasks.append(asyncio.ensure_future(send_one(pairs[k % len(pairs)][0], "paced")))
    await asyncio.gather(*tasks)
    await settle([i for i in sent if i.startswith("paced-")])
    paced = summary("paced", started)
    paced["offered_rate"] = paced_rate

    # saturated: closed loop, one command in flight per buyer socket
    started = time.perf_counter()
    stop_at = started + saturated_seconds

    async def loop(buyer: Side) -> None:
        while time.perf_counter() < stop_at:
            await send_one(buyer, "sat")

    await asyncio.gather(*(loop(b) for b, _ in pairs))
    await settle([i for i in sent if i.startswith("sat-")])
    saturated = summary("sat", started)
    saturated["in_flight"] = len(pairs)

    for b, v in pairs:
        await b.ws.close()
        await v.ws.close()
    return {"paced": paced, "saturated": saturated, "out_of_order": out_of_order[0], "errors": sorted(set(errors))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases (smoke test)")
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--paced-rate", type=float, default=10.0, help="msg/s over all buyers in the paced phase")
    args = parser.parse_args()
    paced_seconds, saturated_seconds = (6.0, 6.0) if args.quick else (15.0, 20.0)

    wall = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="chatbench-"))
    settings_module = setup_django(tmp, name="chat", settings_text=SETTINGS)
    load_start = os.getloadavg()
    print("creating the benchmark database…", flush=True)
    server = None
    with bench_database("chat"):
        try:
            convs = make_conversations(args.conversations)
            server = start_daphne(tmp, settings_module)
            print(f"daphne on {server.ws_url}; {len(convs)} conversations; running phases…", flush=True)
            result = asyncio.run(run_phases(server.ws_url, convs, paced_rate=args.paced_rate,
                                            paced_seconds=paced_seconds, saturated_seconds=saturated_seconds))
        finally:
            if server is not None:
                server.stop()
    result.update({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "conversations": args.conversations, "quick": args.quick,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(time.monotonic() - wall, 1),
    })
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "chat_socket.json").write_text(json.dumps(result, indent=2) + "\n")
    p, s = result["paced"], result["saturated"]
    md = f"""# Chat messages through the socket

Generated by `bench/chat_socket.py` on {result['generated_at']} in {result['wall_seconds']} s. Machine: {os.cpu_count()} CPUs,
Python {platform.python_version()}; one Daphne process, embedded PostgreSQL and Redis, and the benchmark client all
share the CPUs (load average at start {result['load_average_start']}, at end {result['load_average_end']}).
{args.conversations} conversations, each with the buyer and the store owner subscribed on their own socket.
Latency = `chat.message` received on the vendor's socket minus `send` frame sent by the buyer's socket (same clock).

| phase | load | sent | delivered | lost | messages/s | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|---|---|---|---|---|
| paced | {p['offered_rate']} msg/s offered | {p['sent']} | {p['delivered']} | {p['lost']} | {p['messages_per_s']} | {p['p50_ms']} | {p['p90_ms']} | {p['p99_ms']} | {p['max_ms']} |
| saturated | {s['in_flight']} in flight (1 per buyer socket) | {s['sent']} | {s['delivered']} | {s['lost']} | {s['messages_per_s']} | {s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} | {s['max_ms']} |

Out-of-order deliveries (per conversation seq): {result['out_of_order']}. Error codes: {result['errors'] or 'none'}.
"""
    (RESULTS_DIR / "chat_socket.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
