"""``manage.py simulate``: play many mobile clients over real sockets against a running stack.

    make run                                   # in one terminal
    .venv/bin/python manage.py simulate --carts 20 --chats 10 --bidders 30 --couriers 10 --duration 60

Setup (users, tokens, conversations, auctions, deliveries) goes straight to the database the
stack uses (same settings); all traffic then goes through ``--url``'s WebSocket gateway. While it
runs it redraws a live table (or prints a line per second when stdout is not a terminal); at the
end it prints a summary: commands sent, events received, gaps and duplicates seen, errors by code,
and latency percentiles (ms) per measured path. ``--json PATH`` also writes the summary as JSON.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from simulator.client import Stats
from simulator.scenarios import SCENARIOS, load_app_scenarios


class Command(BaseCommand):
    help = "Simulate mobile clients (carts, chats, bidders, couriers) over real sockets against a running stack."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the running stack")
        parser.add_argument("--duration", type=float, default=30.0, help="seconds of traffic per client")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--json", dest="json_path", default=None, help="also write the summary here")

        load_app_scenarios()
        for name in SCENARIOS:
            parser.add_argument(f"--{name}", type=int, default=0, help=f"number of {name} actors")

    def handle(self, *args: Any, **opts: Any) -> None:
        wanted = {name: opts[name] for name in SCENARIOS if opts.get(name)}
        if not wanted:
            raise CommandError("nothing to simulate: give e.g. --carts 10 --chats 5 (" +
                               ", ".join(f"--{n}" for n in SCENARIOS) + ")")
        ws_url = opts["url"].rstrip("/").replace("http://", "ws://").replace("https://", "wss://") + "/ws/"
        rng = random.Random(opts["seed"])
        actors = {}
        for name, n in wanted.items():
            self.stdout.write(f"setting up {n} {name}…")
            setup = SCENARIOS[name][0]
            takes_duration = "duration" in inspect.signature(setup).parameters
            actors[name] = setup(n, duration=opts["duration"]) if takes_duration else setup(n)
        stats = Stats()
        started = time.monotonic()

        async def main() -> None:
            tasks = [asyncio.create_task(SCENARIOS[name][1](actors[name], ws_url=ws_url, stats=stats,
                                                            duration=opts["duration"], rng=rng))
                     for name in wanted]
            progress = asyncio.create_task(self._progress(stats, started, opts["duration"], list(wanted)))
            results = await asyncio.gather(*tasks, return_exceptions=True)
            progress.cancel()
            for name, result in zip(wanted, results):
                if isinstance(result, Exception):
                    stats.error(name, type(result).__name__)
                    self.stderr.write(f"{name}: {type(result).__name__}: {result}")

        asyncio.run(main())
        summary = self._summary(stats, time.monotonic() - started, wanted)
        if opts["json_path"]:
            with open(opts["json_path"], "w") as fh:
                json.dump(summary, fh, indent=2)

    async def _progress(self, stats, started: float, duration: float, names: list[str]) -> None:
        tty = sys.stdout.isatty()
        lines = 0
        while True:
            await asyncio.sleep(1.0)
            elapsed = time.monotonic() - started
            rows = [f"t={elapsed:5.1f}s / {duration:.0f}s"]
            for name in names:
                c = stats.counters[name]
                errs = sum(stats.errors[name].values())
                rows.append(f"  {name:<9} commands {c['commands']:>7}  events {c['events received']:>8}  "
                            f"gaps {c['gaps']:>3}  dups {c['duplicates']:>3}  errors {errs:>4}")
            if tty:
                if lines:
                    self.stdout.write(f"\x1b[{lines}F\x1b[J", ending="")
                self.stdout.write("\n".join(rows))
                lines = len(rows)
            else:
                self.stdout.write(" | ".join(r.strip() for r in rows))

    def _summary(self, stats, elapsed: float, wanted: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = {"elapsed_s": round(elapsed, 1), "actors": wanted, "scenarios": {}, "latency_ms": {}}
        self.stdout.write("\n\nSummary")
        for name in wanted:
            c, e = stats.counters[name], stats.errors[name]
            out["scenarios"][name] = {"counters": dict(c), "errors": dict(e)}
            self.stdout.write(f"  {name}: commands {c['commands']}, events received {c['events received']}, "
                              f"gaps {c['gaps']}, duplicates {c['duplicates']}, lost {c['events lost']}, "
                              f"errors {dict(e) or 0}")
        self.stdout.write(f"\n  {'latency (ms)':<36} {'n':>7} {'p50':>8} {'p95':>8} {'p99':>8}")
        for name, n, p50, p95, p99 in stats.summary_rows():
            out["latency_ms"][name] = {"n": n, "p50": p50, "p95": p95, "p99": p99}
            fmt = lambda v: f"{v:8.1f}" if v is not None else "       -"  # noqa: E731
            self.stdout.write(f"  {name:<36} {n:>7} {fmt(p50)} {fmt(p95)} {fmt(p99)}")
        return out
