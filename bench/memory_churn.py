#!/usr/bin/env python
"""Benchmark: does Daphne's memory grow with every connection that opened and closed?

    .venv/bin/python bench/memory_churn.py                 # 10 rounds of 300 (3,000 connections), DEBUG off
    .venv/bin/python bench/memory_churn.py --debug         # the same with DEBUG=1 (make run's default)
    .venv/bin/python bench/memory_churn.py --server-env WS_GC_THRESHOLD=off

Like ``bench/auction_bids.py``: a throw-away database (``test_marketplace_churnbench``) on the
embedded PostgreSQL, Redis DB 15 (flushed), one real Daphne process started by the production
launcher (``realtime.daphne``: GC thresholds and ``gc.freeze()`` included). After a warm-up round
(thread pools, connection pools, caches), each round opens ``--per-round`` WebSockets, 20 at a
time, that authenticate, subscribe to a topic and close; then Daphne's RSS is read from
``/proc`` (after a 2 s pause for Daphne's clean-up of closed connections). Reported: RSS per
round and the growth per closed connection (least-squares slope over the rounds, and first to
last round).

Why (issue 14, row 10): the GC thresholds plus ``gc.freeze()`` kept garbage alive: ~26 KB per
closed connection with ``DEBUG=1``, 9.6 KB without, linear over 3,600 connections. Every closed
connection left reference cycles (the consumer and its cancelled timer tasks; autobahn's
``is_closed`` future resolved with the protocol itself; Twisted's HTTP channel and the upgraded
request) that only a full collection frees, and those thresholds make full collections rare.
The cycles are now broken where they are made (``realtime/consumers.py``
``GatewayConsumer._cancel_timers``, ``realtime/daphne.py``), so a closed connection leaves no
cyclic garbage whatever the thresholds. ``tests/chaos/test_memory_churn.py`` asserts a bound.
Writes ``bench/results/memory_churn.json`` and ``.md`` (``--out`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BASE_DIR, RESULTS_DIR, bench_database, setup_django, start_daphne  # noqa: E402

SETTINGS = """
from core.settings_test import *  # noqa
DEBUG = {debug}
LOGGING["root"]["level"] = "ERROR"
"""


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs``."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def measure(server, token: str, topic: str, *, rounds: int, per_round: int, warmup: int) -> dict:
    """Churn connections through ``server``; RSS (KiB) after the warm-up and after each round."""
    from tests.live import churn_connections, process_rss_kb

    churn_connections(server.ws_url, token=token, topic=topic, n=warmup)
    time.sleep(2)
    samples = [(0, process_rss_kb(server.proc.pid))]
    t0 = time.monotonic()
    for r in range(1, rounds + 1):
        churn_connections(server.ws_url, token=token, topic=topic, n=per_round)
        time.sleep(2)
        samples.append((r * per_round, process_rss_kb(server.proc.pid)))
    xs, ys = [x for x, _ in samples], [y for _, y in samples]
    return {
        "samples": [{"closed": x, "rss_kb": y} for x, y in samples],
        "rss_start_kb": ys[0], "rss_end_kb": ys[-1], "connections": xs[-1],
        "kb_per_connection_slope": round(slope(xs, ys), 3),
        "kb_per_connection_first_to_last": round((ys[-1] - ys[0]) / xs[-1], 3),
        "churn_seconds": round(time.monotonic() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--debug", action="store_true", help="run Daphne with DEBUG=1 (make run's default)")
    parser.add_argument("--server-env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra environment for Daphne, e.g. WS_GC_THRESHOLD=off")
    parser.add_argument("--out", default=str(RESULTS_DIR / "memory_churn.json"))
    args = parser.parse_args()
    wall = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="churnbench-"))
    settings_module = setup_django(tmp, name="churn", settings_text=SETTINGS.format(debug=args.debug))
    load_start = os.getloadavg()
    server = None
    with bench_database("churn"):
        from django.db import connection
        from rest_framework_simplejwt.tokens import AccessToken

        from core.models import User
        from tests.live import LiveServer

        user = User.objects.create_user(f"churn-{int(time.time())}@example.com", "x")
        token, topic = str(AccessToken.for_user(user)), f"user:{user.pk}"
        try:
            connection.close()
            extra = dict(kv.split("=", 1) for kv in args.server_env)
            server = (LiveServer(tmp / "daphne.log", launcher="realtime.daphne", DJANGO_SETTINGS_MODULE=settings_module,
                                 PYTHONPATH=f"{tmp}:{BASE_DIR}", **extra)
                      if extra else start_daphne(tmp, settings_module))
            result = measure(server, token, topic, rounds=args.rounds, per_round=args.per_round, warmup=args.warmup)
            result["daphne_log_errors"] = server.log().count("Traceback")
        finally:
            if server is not None:
                server.stop()
    result.update({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "debug": args.debug, "server_env": args.server_env,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": [round(x, 2) for x in load_start], "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(time.monotonic() - wall, 1),
    })
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(f"| {s['closed']:,} | {s['rss_kb'] / 1024:.1f} |" for s in result["samples"])
    md = f"""# Memory per closed connection (connection churn)

Generated by `bench/memory_churn.py{' --debug' if args.debug else ''}` on {result['generated_at']} in
{result['wall_seconds']} s; {os.cpu_count()} CPUs shared with the client; one Daphne process (`realtime.daphne`),
DEBUG={'1' if args.debug else '0'}{', ' + ' '.join(args.server_env) if args.server_env else ''}. Each connection authenticates, subscribes to a
topic and closes; {args.warmup} warm-up connections before the first sample.

| connections closed after warm-up | Daphne RSS MiB |
|---|---|
{rows}

Growth per closed connection: **{result['kb_per_connection_slope']} KB** (least-squares slope),
{result['kb_per_connection_first_to_last']} KB first to last sample; {result['connections']:,} connections in
{result['churn_seconds']} s; tracebacks in Daphne's log: {result['daphne_log_errors']}.
"""
    out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
