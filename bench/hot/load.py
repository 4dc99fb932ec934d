"""A load process of ``bench/hot_paths.py``: many asyncio ``websockets`` clients in one process,
driven over stdin/stdout with one JSON object per line (one answer line per command).

Commands:

- ``connect`` ``{url, sockets: [{id, token|null, subs: [topic]}], concurrency}``: open each
  socket, ``auth`` (unless the token is null: the bare baseline server needs none), subscribe to
  its topics; answers ``{ok, failed, errors, seconds}``.
- ``subscribe`` / ``unsubscribe`` ``{subs: {socket id: [topic]}, concurrency}``: (un)subscribe
  open sockets to more topics, as an app does when a screen opens or closes (a bidder opens the
  auction before bidding); answers ``{ok, failed, errors, seconds}``.
- ``record`` ``{types: [event type], key: "data.<field>"}``: from now on keep one row per event
  of those types: ``[socket id, topic, type, seq, key value, receive time]``.
- ``run`` ``{t0, stop_at, items: [[socket id, offset s, topic, name, data, key]], fields, timeout}``:
  the scheduled commands. Each socket sends its items in order with **one command in flight**
  (the next goes when the previous reply came and its time is due), as a phone app does; an item
  whose socket is still busy at its time waits (its lag is measured). Nothing is sent after
  ``stop_at`` (wall clock); such items come back as ``not_sent``. Answers one row per item:
  ``[key, scheduled, sent, replied, status, code, *fields]`` (times ``time.time()``; status
  ``ok`` | ``error`` | ``timeout`` | ``not_sent``; ``fields`` are dotted paths into the reply's
  ``data``, or into the error object for refusals).
- ``events``: the rows recorded since the last ``reset``, plus per-socket-and-topic sequence
  checks: ``gaps`` (a ``seq`` jumped), ``dups`` (a ``seq`` came again or went back), ``frames``.
- ``reset``; ``close`` ``{prefix?}``: abort the sockets whose id starts with ``prefix`` (all by
  default); ``exit``.

All times are ``time.time()`` on this machine, so rows of different processes can be joined.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
from bench.common import raise_fd_limit, serve_json_lines  # noqa: E402

raise_fd_limit()


def dig(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``path`` ``"a.b"``; None when a part is missing."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


class Recorder:
    """What every socket of this process saw (reset between steps)."""

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.key = "data.id"
        self.reset()

    def reset(self) -> None:
        self.rows: list[list] = []
        self.gaps = 0
        self.dups = 0
        self.frames = 0


REC = Recorder()


class Sock:
    __slots__ = ("id", "ws", "replies", "refs", "reader", "last_seq")

    def __init__(self, sid: str) -> None:
        self.id = sid
        self.ws = None
        self.replies: dict[str, asyncio.Future] = {}
        self.refs = 0
        self.reader: asyncio.Task | None = None
        self.last_seq: dict[str, int] = {}

    async def request(self, frame: dict, timeout: float) -> dict:
        self.refs += 1
        ref = str(self.refs)
        frame["ref"] = ref
        fut = asyncio.get_running_loop().create_future()
        self.replies[ref] = fut
        await self.ws.send(json.dumps(frame, separators=(",", ":")))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.replies.pop(ref, None)

    async def open(self, url: str, token: str | None, subs: list[str]) -> None:
        self.ws = await connect(url, max_size=2**22, open_timeout=60, ping_interval=None, close_timeout=1)
        self.reader = asyncio.ensure_future(self._read())
        if token is not None:
            r = await self.request({"op": "auth", "token": token}, 60)
            if r.get("status") != "ok":
                raise RuntimeError(f"auth: {r.get('error')}")
        for topic in subs:
            await self.subscribe(topic)

    async def subscribe(self, topic: str) -> None:
        r = await self.request({"op": "subscribe", "topic": topic}, 60)
        if r.get("status") != "ok":
            raise RuntimeError(f"subscribe {topic}: {r.get('error')}")
        self.last_seq[topic] = (r.get("data") or {}).get("seq") or 0

    async def unsubscribe(self, topic: str) -> None:
        self.last_seq.pop(topic, None)
        r = await self.request({"op": "unsubscribe", "topic": topic}, 60)
        if r.get("status") != "ok":
            raise RuntimeError(f"unsubscribe {topic}: {r.get('error')}")

    async def _read(self) -> None:
        rec = REC
        try:
            async for raw in self.ws:
                now = time.time()
                f = json.loads(raw)
                op = f.get("op")
                if op == "reply":
                    fut = self.replies.get(f.get("ref"))
                    if fut is not None and not fut.done():
                        fut.set_result(f)
                elif op == "event":
                    rec.frames += 1
                    topic, seq = f.get("topic"), f.get("seq")
                    if seq is not None and topic in self.last_seq:
                        last = self.last_seq[topic]
                        if seq <= last:
                            rec.dups += 1
                            continue
                        if seq > last + 1:
                            rec.gaps += 1
                        self.last_seq[topic] = seq
                    if f.get("type") in rec.types:
                        rec.rows.append([self.id, topic, f.get("type"), seq, dig(f, rec.key), now])
        except Exception:  # noqa: BLE001 - a dropped connection shows as unanswered commands
            pass


SOCKS: dict[str, Sock] = {}


async def cmd_connect(msg: dict) -> dict:
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(msg.get("concurrency", 25))
    errors: list[str] = []

    async def one(spec: dict) -> bool:
        async with sem:
            s = Sock(spec["id"])
            try:
                await s.open(msg["url"], spec.get("token"), spec.get("subs") or [])
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return False
            SOCKS[s.id] = s
            return True

    results = await asyncio.gather(*(one(s) for s in msg["sockets"]))
    ok = sum(results)
    return {"ok": ok, "failed": len(results) - ok, "errors": sorted(set(errors))[:5],
            "seconds": round(time.perf_counter() - t0, 2)}


async def _subscriptions(msg: dict, join: bool) -> dict:
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(msg.get("concurrency", 25))
    errors: list[str] = []

    async def one(sid: str, topics: list[str]) -> bool:
        s = SOCKS.get(sid)
        if s is None:
            errors.append(f"no socket {sid}")
            return False
        async with sem:
            try:
                for topic in topics:
                    await (s.subscribe(topic) if join else s.unsubscribe(topic))
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return False
        return True

    results = await asyncio.gather(*(one(sid, topics) for sid, topics in msg["subs"].items()))
    ok = sum(results)
    return {"ok": ok, "failed": len(results) - ok, "errors": sorted(set(errors))[:5],
            "seconds": round(time.perf_counter() - t0, 2)}


async def cmd_subscribe(msg: dict) -> dict:
    return await _subscriptions(msg, True)


async def cmd_unsubscribe(msg: dict) -> dict:
    return await _subscriptions(msg, False)


async def cmd_run(msg: dict) -> dict:
    t0, stop_at, timeout = msg["t0"], msg["stop_at"], msg.get("timeout", 60.0)
    fields = msg.get("fields") or []
    per_sock: dict[str, list] = {}
    for item in msg["items"]:
        per_sock.setdefault(item[0], []).append(item)
    rows: list[list] = []

    async def run_socket(sid: str, items: list) -> None:
        s = SOCKS.get(sid)
        for k, (_, off, topic, name, data, key) in enumerate(items):
            due = t0 + off
            if s is None or time.time() >= stop_at or due >= stop_at:
                rows.extend([it[5], t0 + it[1], None, None, "not_sent", None] + [None] * len(fields) for it in items[k:])
                return
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.time()
            try:
                r = await s.request({"op": "command", "topic": topic, "name": name, "data": data}, timeout)
            except asyncio.TimeoutError:
                rows.append([key, due, sent, None, "timeout", None] + [None] * len(fields))
                continue
            except Exception as exc:  # noqa: BLE001 - socket gone
                rows.append([key, due, sent, None, "error", type(exc).__name__] + [None] * len(fields))
                continue
            replied = time.time()
            if r.get("status") == "ok":
                body = r.get("data") or {}
                rows.append([key, due, sent, replied, "ok", None] + [dig(body, f) for f in fields])
            else:
                err = r.get("error") or {}
                rows.append([key, due, sent, replied, "error", err.get("code", "?")] + [dig(err, f) for f in fields])

    await asyncio.gather(*(run_socket(sid, items) for sid, items in per_sock.items()))
    return {"rows": rows}


async def cmd_record(msg: dict) -> dict:
    REC.types = set(msg.get("types") or [])
    REC.key = msg.get("key") or "data.id"
    return {}


async def cmd_events(msg: dict) -> dict:
    return {"rows": REC.rows, "gaps": REC.gaps, "dups": REC.dups, "frames": REC.frames}


async def cmd_reset(msg: dict) -> dict:
    REC.reset()
    return {}


async def cmd_close(msg: dict) -> dict:
    prefix = msg.get("prefix") or ""
    gone = [sid for sid in SOCKS if sid.startswith(prefix)]
    for sid in gone:
        s = SOCKS.pop(sid)
        try:
            if s.reader:
                s.reader.cancel()
            s.ws.transport.abort()
        except Exception:  # noqa: BLE001
            pass
    REC.reset()
    return {"closed": len(gone)}


HANDLERS = {"connect": cmd_connect, "subscribe": cmd_subscribe, "unsubscribe": cmd_unsubscribe, "run": cmd_run,
            "record": cmd_record, "events": cmd_events, "reset": cmd_reset, "close": cmd_close}


async def main() -> None:
    await serve_json_lines(HANDLERS)


if __name__ == "__main__":
    asyncio.run(main())
