#!/usr/bin/env python
"""Baseline for ``bench/gateway.py``: a bare ``websockets`` asyncio broadcast server speaking the
same frames as the gateway (README, "WebSocket protocol (v1)"), with nothing behind it.

    python bench/baseline_ws.py --port 8765

- ``auth``: replies ok at once (the token is not verified: no JWT, no database);
- ``subscribe`` (with optional ``since``): joins the room, replays kept history after ``since``
  (the last 1,000 events per topic), replies ``{"seq", "recovered"}`` like the gateway;
- ``command`` with name ``publish``: next ``seq`` for the topic, an ``event`` frame shaped like
  the gateway's (``{"op":"event","topic","seq","type","data","ts"}``), kept in memory and sent to
  every subscriber of the topic with ``websockets.broadcast``; replies ok;
- ``ping``: replies ok.

No database, no Redis, no channel layer, no rate limits: the fastest plain Python WebSocket
server for this traffic, in one process like one Daphne.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections import defaultdict, deque
from datetime import datetime, timezone

from websockets.asyncio.server import broadcast, serve

rooms: dict[str, set] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)
history: dict[str, deque] = defaultdict(lambda: deque(maxlen=1000))


def reply(ref, data=None) -> str:
    body = {"op": "reply", "ref": ref, "status": "ok"}
    if data is not None:
        body["data"] = data
    return json.dumps(body, separators=(",", ":"))


async def handler(ws) -> None:
    mine: set[str] = set()
    try:
        async for raw in ws:
            try:
                frame = json.loads(raw)
                op, ref = frame.get("op"), frame.get("ref")
            except (ValueError, AttributeError):
                await ws.send(json.dumps({"op": "reply", "ref": None, "status": "error",
                                          "error": {"code": "bad_frame", "detail": "bad frame"}}))
                continue
            if op == "auth":
                await ws.send(reply(ref, {"user_id": "baseline", "expires_at": "2099-01-01T00:00:00Z"}))
            elif op == "subscribe":
                topic = frame["topic"]
                since = frame.get("since")
                rooms[topic].add(ws)
                mine.add(topic)
                last = seqs[topic]
                hist = history[topic]
                if since is not None and (since >= last or (hist and hist[0][0] <= since + 1)):
                    for seq, text in list(hist):
                        if seq > since:
                            await ws.send(text)
                    await ws.send(reply(ref, {"seq": last, "recovered": True}))
                else:
                    await ws.send(reply(ref, {"seq": last, "recovered": False, "snapshot": {"room": topic}}))
            elif op == "unsubscribe":
                rooms[frame["topic"]].discard(ws)
                mine.discard(frame["topic"])
                await ws.send(reply(ref))
            elif op == "command" and frame.get("name") == "publish":
                topic = frame["topic"]
                seqs[topic] += 1
                seq = seqs[topic]
                data = frame.get("data") or {}
                text = json.dumps({
                    "op": "event", "topic": topic, "seq": seq, "type": "bench.message",
                    "data": {"t": data.get("t"), "i": data.get("i")},
                    "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                }, separators=(",", ":"))
                history[topic].append((seq, text))
                broadcast(rooms[topic], text)
                await ws.send(reply(ref, {"seq": seq}))
            elif op == "ping":
                await ws.send(reply(ref, {"server_time": time.time()}))
            else:
                await ws.send(json.dumps({"op": "reply", "ref": ref, "status": "error",
                                          "error": {"code": "bad_frame", "detail": f"unknown op {op!r}"}}))
    except Exception:  # noqa: BLE001 - a dropped client must not take the server down
        pass
    finally:
        for topic in mine:
            rooms[topic].discard(ws)


async def main(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # same limits as the gateway's Daphne flags: 64 KiB frames, pings every 25 s
    async with serve(handler, host, port, max_size=65536, ping_interval=25, ping_timeout=30, backlog=4096):
        print(f"baseline listening on {host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="bare websockets broadcast server (baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
