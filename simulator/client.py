"""An asyncio client of the gateway protocol (README, "WebSocket protocol (v1)") for the simulator, and its statistics.

:class:`SimClient` holds one real WebSocket (the ``websockets`` library): ``auth``, ``subscribe``
(with ``since`` on resume), ``command`` with a ``ref`` and a future for its reply, and a reader
task that routes replies to their futures and events to the client's handlers. Per topic it keeps
the last ``seq`` and counts gaps (a seq that skips) and duplicates; after a dropped connection
:meth:`SimClient.reconnect` resubscribes with ``since`` so the gateway replays what was missed.

:class:`Stats` collects, per scenario, counters (sent, received, errors by code, gaps) and
latency samples in milliseconds, and formats percentiles.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import websockets

EventHandler = Callable[["SimClient", dict], Awaitable[None] | None]


def percentile(samples: list[float], p: float) -> float | None:
    """The ``p``-th percentile (0..100, nearest rank) of ``samples``; None when empty."""
    if not samples:
        return None
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


@dataclass
class Stats:
    """Counters and latency samples (ms) per scenario name."""

    counters: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def count(self, scenario: str, what: str, n: int = 1) -> None:
        self.counters[scenario][what] += n

    def latency(self, name: str, ms: float) -> None:
        self.latencies[name].append(ms)

    def error(self, scenario: str, code: str) -> None:
        self.errors[scenario][code] += 1

    def summary_rows(self) -> list[tuple[str, int, float | None, float | None, float | None]]:
        """``[(latency name, samples, p50, p95, p99)]`` sorted by name."""
        return [
            (name, len(v), percentile(v, 50), percentile(v, 95), percentile(v, 99))
            for name, v in sorted(self.latencies.items())
        ]


class ProtocolError(Exception):
    """An error reply: ``code`` and ``detail`` from the gateway."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class SimClient:
    """One simulated device: a socket authenticated as one user."""

    _refs = itertools.count(1)

    def __init__(self, ws_url: str, token: str, *, name: str, stats: Stats, scenario: str) -> None:
        self.ws_url = ws_url
        self.token = token
        self.name = name
        self.stats = stats
        self.scenario = scenario
        self.ws: Any = None
        self.pending: dict[str, asyncio.Future] = {}
        self.handlers: list[EventHandler] = []
        self.last_seq: dict[str, int] = {}
        self.topics: list[str] = []
        self._reader: asyncio.Task | None = None
        self.closed = asyncio.Event()

    async def connect(self) -> None:
        """Open the socket and authenticate (raises :class:`ProtocolError` when refused)."""
        self.closed.clear()
        self.ws = await websockets.connect(self.ws_url, max_size=2**20, open_timeout=20, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        await self.request("auth", token=self.token)

    async def reconnect(self) -> None:
        """Drop nothing on the server side: open a new socket and resubscribe every topic with
        ``since`` = the last seq seen (the gateway replays the gap)."""
        await self.close()
        await self.connect()
        for topic in self.topics:
            await self.subscribe(topic, resume=True)

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._reader = None
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("socket closed"))
        self.pending.clear()

    async def request(self, op: str, *, timeout: float = 20.0, **fields: Any) -> Any:
        """Send ``{op, ref, **fields}``; return the reply's ``data`` or raise ProtocolError."""
        ref = str(next(self._refs))
        fut = asyncio.get_running_loop().create_future()
        self.pending[ref] = fut
        await self.ws.send(json.dumps({"op": op, "ref": ref, **fields}))
        try:
            reply = await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(ref, None)
        if reply.get("status") != "ok":
            err = reply.get("error") or {}
            raise ProtocolError(err.get("code", "unknown"), err.get("detail", ""))
        return reply.get("data")

    async def subscribe(self, topic: str, *, resume: bool = False) -> Any:
        """Subscribe (``since`` = last seen seq when resuming); returns the reply data."""
        fields: dict[str, Any] = {"topic": topic}
        if resume and topic in self.last_seq:
            fields["since"] = self.last_seq[topic]
        data = await self.request("subscribe", **fields)
        if topic not in self.topics:
            self.topics.append(topic)
        if isinstance(data, dict) and "seq" in data and not (resume and data.get("recovered")):
            self.last_seq.setdefault(topic, int(data["seq"]))
            if not resume:
                self.last_seq[topic] = int(data["seq"])
        return data

    async def command(self, topic: str, name: str, data: dict, *, latency_name: str | None = None) -> Any:
        """Run a topic command; records its round trip under ``latency_name`` (default
        ``<scenario>.<name> rtt``) and errors by code."""
        t0 = time.perf_counter()
        try:
            result = await self.request("command", topic=topic, name=name, data=data)
        except ProtocolError as exc:
            self.stats.error(self.scenario, exc.code)
            raise
        self.stats.latency(latency_name or f"{self.scenario}.{name} rtt", (time.perf_counter() - t0) * 1000)
        self.stats.count(self.scenario, "commands")
        return result

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                op = frame.get("op")
                if op == "reply":
                    fut = self.pending.get(str(frame.get("ref")))
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
                elif op == "event":
                    self._track_seq(frame)
                    self.stats.count(self.scenario, "events received")
                    for handler in self.handlers:
                        result = handler(self, frame)
                        if asyncio.iscoroutine(result):
                            await result
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def _track_seq(self, frame: dict) -> None:
        seq = frame.get("seq")
        if seq is None:  # ephemeral events carry no seq
            return
        topic = frame["topic"]
        last = self.last_seq.get(topic)
        if last is not None:
            if seq <= last:
                self.stats.count(self.scenario, "duplicates")
                return
            if seq > last + 1:
                self.stats.count(self.scenario, "gaps")
        self.last_seq[topic] = seq
