"""A load worker of ``bench/gateway.py``: one process holding many asyncio ``websockets`` clients.

Driven over stdin/stdout with one JSON object per line: the orchestrator writes a command, the
worker answers with one JSON line. Commands:

- ``connect``  {url, clients: [{token, topic|null, since?}], concurrency} -> opens, authenticates,
  subscribes; answers {ok, failed, errors, seconds}
- ``reset``    forget counted events (start of a phase)
- ``collect``  {wait_for?: n, timeout?}: answers the events counted since ``reset``: deliveries,
  latencies (ms, receive time - ``data.t`` send stamp, both ``time.time()`` on this machine),
  first/last receive time, duplicates and gaps (per client ``seq``)
- ``commands`` {mode: "saturated"|"paced", seconds, rate, topic?, name, data}: command round trips
  from every client (saturated: one in flight per socket; paced: ``rate`` per second in total)
- ``couriers`` {seconds, hz, name}: every client whose role is ``courier`` sends one command per
  second on its own topic without waiting for the reply (watchers count the events)
- ``storm``    {concurrency}: abort every socket (no close handshake), reconnect, auth, subscribe
  with ``since`` = last seq seen; answers how many were recovered
- ``report``   per-client state: recovered, gaps, duplicates, last seq
- ``close`` / ``exit``

Clients count every event frame they get, so losses, duplicates and gaps are measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
from bench.common import raise_fd_limit, serve_json_lines  # noqa: E402

raise_fd_limit()


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.deliveries = 0
        self.lat: list[float] = []
        self.first = None
        self.last = None


STATS = Stats()


class Client:
    __slots__ = ("spec", "ws", "topic", "token", "last_seq", "gaps", "dups", "replies", "reader",
                 "recovered", "role", "refs", "replayed")

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.token = spec["token"]
        self.topic = spec.get("topic")
        self.role = spec.get("role", "sub")
        self.ws = None
        self.last_seq = None
        self.gaps = 0
        self.dups = 0
        self.replies: dict[str, asyncio.Future] = {}
        self.reader = None
        self.recovered = None
        self.refs = 0
        self.replayed = 0

    async def request(self, frame: dict, timeout: float = 30.0) -> dict:
        self.refs += 1
        ref = str(self.refs)
        frame["ref"] = ref
        fut = asyncio.get_running_loop().create_future()
        self.replies[ref] = fut
        await self.ws.send(json.dumps(frame, separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    async def open(self, url: str, since=None) -> None:
        self.ws = await connect(url, max_size=2**22, open_timeout=30, ping_interval=None, close_timeout=1)
        self.reader = asyncio.ensure_future(self._read())
        r = await self.request({"op": "auth", "token": self.token})
        if r.get("status") != "ok":
            raise RuntimeError(f"auth: {r}")
        if self.topic and self.role != "courier":
            frame = {"op": "subscribe", "topic": self.topic}
            if since is not None:
                frame["since"] = since
            r = await self.request(frame)
            if r.get("status") != "ok":
                raise RuntimeError(f"subscribe: {r}")
            data = r.get("data") or {}
            self.recovered = data.get("recovered")
            if self.last_seq is None:
                self.last_seq = data.get("seq")

    async def _read(self) -> None:
        st = STATS
        try:
            async for raw in self.ws:
                now = time.time()
                f = json.loads(raw)
                op = f.get("op")
                if op == "event":
                    seq = f.get("seq")
                    if seq is not None:
                        last = self.last_seq
                        if last is not None:
                            if seq <= last:
                                self.dups += 1
                                continue
                            if seq > last + 1:
                                self.gaps += 1
                        self.last_seq = seq
                    t = (f.get("data") or {}).get("t")
                    st.deliveries += 1
                    if t:
                        st.lat.append(round((now - t) * 1000, 2))
                    if st.first is None:
                        st.first = now
                    st.last = now
                elif op == "reply":
                    fut = self.replies.pop(f.get("ref"), None)
                    if fut is not None and not fut.done():
                        fut.set_result(f)
        except Exception:  # noqa: BLE001 - connection dropped; counted by the caller
            pass


CLIENTS: list[Client] = []


async def _bounded(coros, concurrency: int):
    sem = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def run(c):
        async with sem:
            try:
                await c
                return True
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return False

    results = await asyncio.gather(*(run(c) for c in coros))
    return sum(results), len(results) - sum(results), errors


async def cmd_connect(msg: dict) -> dict:
    t0 = time.perf_counter()
    new = [Client(s) for s in msg["clients"]]
    ok, failed, errors = await _bounded([c.open(msg["url"]) for c in new], msg.get("concurrency", 50))
    CLIENTS.extend(new)
    return {"ok": ok, "failed": failed, "errors": sorted(set(errors))[:5], "seconds": round(time.perf_counter() - t0, 2)}


async def cmd_collect(msg: dict) -> dict:
    want = msg.get("wait_for")
    deadline = time.time() + msg.get("timeout", 10.0)
    quiet = msg.get("quiet", 1.0)
    while time.time() < deadline:
        if want is not None and STATS.deliveries >= want:
            break
        if want is None and (STATS.last is None or time.time() - STATS.last > quiet):
            break
        await asyncio.sleep(0.05)
    gaps = sum(c.gaps for c in CLIENTS)
    dups = sum(c.dups for c in CLIENTS)
    return {"deliveries": STATS.deliveries, "lat": STATS.lat, "first": STATS.first, "last": STATS.last,
            "gaps": gaps, "dups": dups}


async def cmd_commands(msg: dict) -> dict:
    name, seconds, mode = msg["name"], msg["seconds"], msg["mode"]
    topic = msg.get("topic")
    extra = msg.get("data") or {}
    rtts: list[float] = []
    errors: dict[str, int] = {}
    counter = [0]

    async def one(c: Client) -> None:
        counter[0] += 1
        data = dict(extra, t=time.time(), i=counter[0])
        t0 = time.perf_counter()
        try:
            r = await c.request({"op": "command", "topic": topic or c.topic, "name": name, "data": data}, timeout=30)
        except Exception as exc:  # noqa: BLE001
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        if r.get("status") == "ok":
            rtts.append(round((time.perf_counter() - t0) * 1000, 2))
        else:
            code = (r.get("error") or {}).get("code", "?")
            errors[code] = errors.get(code, 0) + 1

    started = time.perf_counter()
    stop_at = started + seconds
    if mode == "saturated":
        async def loop(c):
            while time.perf_counter() < stop_at:
                await one(c)
        await asyncio.gather(*(loop(c) for c in CLIENTS))
    else:
        rate = msg["rate"]
        tasks = []
        k = 0
        while True:
            target = started + k / rate
            if target >= stop_at:
                break
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(CLIENTS[k % len(CLIENTS)])))
            k += 1
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {"rtts": rtts, "errors": errors, "elapsed": round(elapsed, 3)}


async def cmd_couriers(msg: dict) -> dict:
    seconds, hz, name = msg["seconds"], msg.get("hz", 1.0), msg["name"]
    couriers = [c for c in CLIENTS if c.role == "courier"]
    sent = [0]
    errors: dict[str, int] = {}
    pending: list[asyncio.Future] = []

    async def run(c: Client, offset: float) -> None:
        start = time.perf_counter() + offset
        k = 0
        while True:
            target = start + k / hz
            if target - (start - offset) >= seconds:
                break
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            k += 1
            c.refs += 1
            ref = str(c.refs)
            fut = asyncio.get_running_loop().create_future()
            c.replies[ref] = fut
            pending.append(fut)
            await c.ws.send(json.dumps({"op": "command", "ref": ref, "topic": c.topic, "name": name,
                                        "data": {"t": time.time(), "i": k}}, separators=(",", ":")))
            sent[0] += 1

    n = max(1, len(couriers))
    await asyncio.gather(*(run(c, i / n / hz) for i, c in enumerate(couriers)))
    done, not_done = await asyncio.wait(pending, timeout=90) if pending else (set(), set())
    for f in done:
        r = f.result()
        if r.get("status") != "ok":
            code = (r.get("error") or {}).get("code", "?")
            errors[code] = errors.get(code, 0) + 1
    return {"sent": sent[0], "unanswered": len(not_done), "errors": errors}


async def cmd_storm(msg: dict) -> dict:
    t0 = time.perf_counter()
    subs = [c for c in CLIENTS if c.role != "courier"]
    for c in subs:
        c.ws.transport.abort()  # a dropped network, not a clean close
    await asyncio.sleep(0.05)
    for c in subs:
        if c.reader:
            c.reader.cancel()
        c.replies.clear()
        c.recovered = None
    ok, failed, errors = await _bounded([c.open(msg["url"], since=c.last_seq) for c in subs], msg.get("concurrency", 50))
    return {"ok": ok, "failed": failed, "errors": sorted(set(errors))[:5], "seconds": round(time.perf_counter() - t0, 2)}


async def cmd_report(msg: dict) -> dict:
    subs = [c for c in CLIENTS if c.role != "courier"]
    return {"clients": [{"recovered": c.recovered, "gaps": c.gaps, "dups": c.dups, "last_seq": c.last_seq} for c in subs]}


async def cmd_close(msg: dict) -> dict:
    async def close(c):
        try:
            c.ws.transport.abort()
        except Exception:  # noqa: BLE001
            pass
    await asyncio.gather(*(close(c) for c in CLIENTS))
    n = len(CLIENTS)
    CLIENTS.clear()
    STATS.reset()
    return {"closed": n}


async def cmd_reset(msg: dict) -> dict:
    STATS.reset()
    for c in CLIENTS:
        c.gaps = c.dups = 0
    return {}


HANDLERS = {"connect": cmd_connect, "collect": cmd_collect, "commands": cmd_commands, "couriers": cmd_couriers,
            "storm": cmd_storm, "report": cmd_report, "close": cmd_close, "reset": cmd_reset}


async def main() -> None:
    await serve_json_lines(HANDLERS)


if __name__ == "__main__":
    asyncio.run(main())
