#!/usr/bin/env python
"""Benchmark: the hot write paths through the real socket commands, on real recorded input.

    .venv/bin/python bench/hot_paths.py                    # full run (make bench-hot)
    .venv/bin/python bench/hot_paths.py --quick            # smoke run, about two minutes
    .venv/bin/python bench/hot_paths.py --paths couriers --couriers 1000 --repeat 3
    .venv/bin/python bench/hot_paths.py --label "after: Redis-first courier path"

Paths (one module each in ``bench/hot/``): **couriers** (``location`` on ``delivery:<id>``,
GPS tracks of ``bench/data/gps``), **bids** (``bid`` on ``auction:<id>``, eBay histories of
``bench/data/ebay-auctions.csv``: many auctions at once, then one hot auction) and **chat**
(``send`` on ``chat:<id>``). Everything runs against one production-like stack
(``bench/hot/stack.py``): its own embedded PostgreSQL and Redis in a temporary directory, one
Daphne process through the production launcher with ``DEBUG`` off, a Celery worker and beat,
the bare ``websockets`` baseline server, two sender processes and one watcher process.

Each path climbs an offered-rate ladder (1/64 … 2 × the issue's goal), repeats its goal step
(``--repeat``) and runs the goal step once more against the baseline server. Steps above two
consecutive saturated ones are skipped, except the goal step. Writes
``bench/results/hot_paths.json``, ``hot_paths.md``, ``hot_paths-<path>.png`` (latency against
offered rate) and ``hot_paths.profile-<path>.txt`` (py-spy, Daphne, goal step); with
``--readme`` (``make bench``) also the README's table of the hot paths against issue 16's goals.
``--from-json results/<name>.json`` writes the reports of a saved run again without running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import RESULTS_DIR, Profiler, log  # noqa: E402

PATHS = ["couriers", "bids-many", "bids-hot", "chat"]
GOALS = {"couriers": 1000, "bids-many": 1000, "bids-hot": 300, "chat": 1000}
UNITS = {"couriers": "couriers", "bids-many": "bids/s", "bids-hot": "bids/s", "chat": "msg/s"}
#: the issue's targets at the goal (rtt p99, watcher p99; ms) and at half the goal rate (rtt p99)
TARGETS = {
    "couriers": {"rtt_p99_ms": 100, "watcher_late_p99_ms": 250},
    "bids-many": {"half_rtt_p99_ms": 50},
    "bids-hot": {"half_rtt_p99_ms": 50},
    "chat": {"half_rtt_p99_ms": 50},
}
LADDER = [1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2]


def saturated(res: dict) -> bool:
    """The stack did not keep up: under 80 % of the offered commands completed per second."""
    return res["completed_per_s"] < 0.8 * res["offered_per_s"]


def git_state() -> dict:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": run("rev-parse", "HEAD"), "branch": run("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(run("status", "--porcelain", "--untracked-files=no")),
            # the last commit that changed anything but the benchmarks and their wiring: the code measured
            "code_commit": run("log", "-1", "--format=%H", "--", ".", ":(exclude)bench", ":(exclude)tests/bench",
                               ":(exclude)Makefile", ":(exclude)requirements-dev.txt")}


def config(args) -> dict:
    q = args.quick
    cfg = {
        "couriers": {"ladder": [100] if q else [int(GOALS["couriers"] * f) for f in LADDER if f <= 1],
                     "duration": 8.0 if q else 20.0, "warmup": 2.0, "watchers": 30 if q else 100},
        "bids-many": {"ladder": [250.0] if q else [GOALS["bids-many"] * f for f in LADDER], "window": 4.0 if q else 10.0,
                      "compress": args.compress or (302_400.0 if q else 100_800.0)},
        "bids-hot": {"ladder": [150.0] if q else [GOALS["bids-hot"] * f for f in LADDER], "duration": 6.0 if q else 12.0,
                     "warmup": 1.0, "bidders": 50},
        "chat": {"ladder": [250.0] if q else [GOALS["chat"] * f for f in LADDER], "duration": 6.0 if q else 12.0,
                 "warmup": 2.0, "conversations": 100 if q else 500},
    }
    if args.couriers:
        cfg["couriers"]["ladder"] = [c for c in cfg["couriers"]["ladder"] if c < args.couriers] + [args.couriers]
    for path, ladder in (args.ladder or {}).items():
        cfg[path]["ladder"] = ladder
    if args.step_seconds:
        for k in ("couriers", "bids-hot", "chat"):
            cfg[k]["duration"] = args.step_seconds
        cfg["bids-many"]["window"] = args.step_seconds
    if args.conversations:
        cfg["chat"]["conversations"] = args.conversations
    return cfg


def run_path(path: str, fixture, cfg: dict, args, token: str, profiler: Profiler | None) -> dict:
    """The ladder, the goal repeats and the baseline of one path."""
    c = cfg[path]
    goal = c["ladder"][-1] if args.quick or GOALS[path] not in c["ladder"] else GOALS[path]

    def one(x, *, profile=None, baseline=False):
        kw = {"stats_token": token, "profiler": profiler, "profile": profile, "baseline": baseline}
        if path == "couriers":
            return fixture.step(int(x), duration=c["duration"], warmup=c["warmup"], **kw)
        if path == "bids-many":
            return fixture.step_many(x, window=c["window"], compress=c["compress"], **kw)
        if path == "bids-hot":
            return fixture.step_hot(x, duration=c["duration"], warmup=c["warmup"], **kw)
        return fixture.step(x, duration=c["duration"], warmup=c["warmup"], **kw)

    steps, streak = [], 0
    for x in c["ladder"]:
        if streak >= 2 and x != goal:
            log(f"  {path}: skipping {x:g} {UNITS[path]} (two saturated steps below)")
            continue
        is_goal = x == goal
        res = one(x, profile=path if (is_goal and profiler) else None, baseline=is_goal and not args.no_baseline)
        res["load"] = x
        res["goal_step"] = is_goal
        steps.append(res)
        streak = streak + 1 if saturated(res) else 0
    repeats = []
    for _ in range(max(0, args.repeat - 1)):
        r = one(goal)
        r["load"] = goal
        repeats.append(r)
    return {"goal": goal, "unit": UNITS[path], "steps": steps, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small step per path (smoke run)")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=PATHS)
    parser.add_argument("--repeat", type=int, default=None, help="runs of each goal step (default 3; --quick 1)")
    parser.add_argument("--couriers", type=int, default=None, help="largest courier count (ladder ends there)")
    parser.add_argument("--ladder", type=json.loads, default=None,
                        help='override ladders, JSON: {"chat": [100, 400], "couriers": [50]}')
    parser.add_argument("--step-seconds", type=float, default=None, help="seconds per step (window for bids-many)")
    parser.add_argument("--compress", type=float, default=None, help="eBay time compression, real s per bench s")
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-celery", action="store_true", help="no Celery worker/beat (throttle flushes, closing)")
    parser.add_argument("--quiet-threshold", type=float, default=30.0,
                        help="before each step, wait until other users of the machine take at most this %% of a core")
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help="longest wait for that, seconds (default 90; --quick 0: never wait)")
    parser.add_argument("--label", default="", help="what this run measures (written in the report's title)")
    parser.add_argument("--out", default=str(RESULTS_DIR / "hot_paths.json"))
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the README's hot-path table from this run (make bench does)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="run nothing: write the Markdown, plots (and with --readme the README table) of a saved run")
    args = parser.parse_args()
    if args.from_json:
        write_reports(json.loads(args.from_json.read_text()), args.from_json, readme=args.readme)
        return
    # SIGTERM, and SIGINT even when started in the background, stop the run through the
    # ``finally`` below, which stops every process and server this run started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    cfg = config(args)
    out = Path(args.out)
    to_results = out.parent.resolve() == RESULTS_DIR.resolve()
    wall = time.monotonic()
    load_start = [round(x, 2) for x in os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="hotbench-"))
    results: dict = {"label": args.label, "paths": {}, "config": cfg, "git": git_state()}
    stack = None
    try:
        from bench.hot.stack import HotStack
        from bench.hot.steps import close

        # the "ending soon" notice (300 s before the end) scaled like the auctions' soft close
        ending_soon = max(1, round(300 / cfg["bids-many"]["compress"]))
        stack = HotStack(tmp, celery=not args.no_celery, settings_extra=f"AUCTION_ENDING_SOON_SECONDS = {ending_soon}")
        stack.quiet_threshold = args.quiet_threshold
        stack.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0.0 if args.quick else 90.0)
        from rest_framework_simplejwt.tokens import AccessToken

        from core.models import User

        stats_user = User.objects.create_user("hot-stats@example.com", "x")
        token = str(AccessToken.for_user(stats_user))
        profiler = None if args.no_profile else Profiler(True, tmp, prefix=out.stem, copy_to=RESULTS_DIR if to_results else None)
        bidders = None
        for path in [p for p in PATHS if p in args.paths]:
            log(f"path {path}")
            t = time.monotonic()
            if path == "couriers":
                from bench.hot.couriers import Couriers

                fixture = Couriers(stack, max(cfg["couriers"]["ladder"]), watchers=cfg["couriers"]["watchers"])
            elif path.startswith("bids"):
                from bench.hot.bids import Bidders

                bidders = bidders or Bidders(stack, hot=cfg["bids-hot"]["bidders"])
                fixture = bidders
            else:
                from bench.hot.chat import Chats

                fixture = Chats(stack, cfg["chat"]["conversations"])
            results["paths"][path] = run_path(path, fixture, cfg, args, token, profiler)
            if path == "couriers":
                fixture.finish()
            results["paths"][path]["seconds"] = round(time.monotonic() - t, 1)
            if path != "bids-many" or "bids-hot" not in args.paths:  # the bidders' sockets serve both shapes
                close(stack)
            dead = {k: v for k, v in stack.alive().items() if v is not None}
            if dead:
                raise RuntimeError(f"server processes exited: {dead}")
        if profiler:
            from bench.hot.report import profile_breakdown

            results["profiles"] = profiler.results
            project = sorted(d.name for d in BASE_DIR.iterdir()
                             if (d / "__init__.py").exists() and d.name not in ("bench", "tests"))
            results["profile_breakdown"] = {label: profile_breakdown((tmp / f"{label}.txt").read_text(), project)
                                            for label in profiler.results if (tmp / f"{label}.txt").exists()}
    finally:
        if stack is not None:
            results["daphne_log_tail"] = stack.logs["daphne"].read_text(errors="replace")[-3000:]
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    import importlib.metadata as md

    results.update({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick, "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "versions": {p: md.version(p) for p in ("daphne", "channels", "channels-redis", "django", "psycopg", "celery",
                                                 "websockets", "twisted")},
        "load_average_start": load_start, "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(time.monotonic() - wall, 1), "targets": TARGETS, "goals": GOALS,
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    write_reports(results, out, readme=args.readme)


def write_reports(results: dict, out: Path, *, readme: bool) -> None:
    """``<out>.md`` and the plots beside ``out`` (the run's JSON); with ``readme``, the README's
    hot-path table (``bench.hot.report.readme_section``) too. A quick run never touches the README."""
    from bench.hot.report import markdown, plots, readme_section, update_readme

    made = plots(results, out.parent, stem=out.stem)
    md = out.with_suffix(".md")
    md.write_text(markdown(results, images=made))
    print(md.read_text())
    if readme and not results.get("quick"):
        target = BASE_DIR / "README.md"
        update_readme(target, readme_section(results, report=os.path.relpath(md.resolve(), BASE_DIR)))
        log(f"README.md: hot-path table written from {md.name}")


if __name__ == "__main__":
    main()
