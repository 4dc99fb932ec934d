"""One measured step of a hot-path benchmark, and the statistics every path reports.

A step ships each load process its scheduled commands (``bench/hot/load.py`` ``run``), starts
them together at ``t0``, meters CPU (and, optionally, records a ``py-spy`` profile of Daphne)
over the measuring window, then gathers the command rows, the events every process recorded,
the Daphne process's per-command SQL counters and PostgreSQL's statement counts of the step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from bench.common import Profiler, log, percentile
from bench.hot.stack import HotStack, LoadProc, call_all

#: command row layout from bench/hot/load.py
KEY, SCHED, SENT, REPLIED, STATUS, CODE = range(6)


@dataclass
class Step:
    """What a path hands to :func:`run_step`.

    ``build(t0)`` returns, per load process (``stack.loads`` then the watcher), the list of items
    ``[socket id, offset s, topic, name, data, key]``; it gets ``t0`` (wall clock of offset 0)
    because device timestamps are part of the data. ``window`` is the measuring window in
    offsets (rates, percentiles and CPU are taken over commands scheduled in it). ``record``:
    event types to keep and the dotted path of their key.
    """

    label: str
    build: Callable[[float], list[list[list]]]
    duration: float
    window: tuple[float, float]
    fields: list[str] = field(default_factory=list)
    record: tuple[list[str], str] | None = None
    lead: float = 2.0
    settle: float = 2.5
    profile: str | None = None
    timeout: float = 60.0


def run_step(stack: HotStack, step: Step, *, stats_token: str, profiler: Profiler | None = None,
             procs: list[LoadProc] | None = None) -> dict[str, Any]:
    """Run one step on ``procs`` (default: the senders and the watcher). Returns ``{"t0",
    "rows", "events", "gaps", "dups", "frames", "cpu", "queries", "pg", "window"}``."""
    procs = procs or (stack.loads + [stack.watcher])
    quiet = stack.wait_quiet() if stack.quiet_wait > 0 else None
    types, key = step.record or ([], "data.id")
    call_all(procs, [{"cmd": "record", "types": types, "key": key}] * len(procs))
    call_all(procs, [{"cmd": "reset"}] * len(procs))
    stack.query_counts(token=stats_token, reset=True)
    stack.pg_statements_reset()
    t0 = time.time() + step.lead
    items = step.build(t0)
    stop_at = t0 + step.duration
    msgs = [{"cmd": "run", "t0": t0, "stop_at": stop_at, "items": its, "fields": step.fields, "timeout": step.timeout}
            if its else None for its in items]
    msgs += [None] * (len(procs) - len(msgs))
    for p, m in zip(procs, msgs):
        if m is not None:
            p.send(m)
    meter = stack.meter()
    w0, w1 = t0 + step.window[0], t0 + step.window[1]
    time.sleep(max(0.0, w0 - time.time()))
    meter.start()
    handle = profiler.start(step.profile, stack.daphne_pid) if (profiler and step.profile) else None
    time.sleep(max(0.0, w1 - time.time()))
    cpu = meter.stop()
    cpu["before_step"] = quiet
    if handle is not None:
        profiler.stop(handle)
    rows: list[list] = []
    for p, m in zip(procs, msgs):
        if m is not None:
            rows += p.recv()["rows"]
    time.sleep(step.settle)  # late events (deferred broadcasts, fan-out) reach the watchers
    ev = call_all(procs, [{"cmd": "events"}] * len(procs))
    queries = stack.query_counts(token=stats_token, reset=False)
    pg = stack.pg_statements()
    log(f"  {step.label}: {sum(1 for r in rows if r[STATUS] == 'ok')}/{len(rows)} ok, "
        f"load average {cpu['loadavg'][0]}")
    return {"t0": t0, "rows": rows, "events": [e for r in ev for e in r["rows"]], "gaps": sum(r["gaps"] for r in ev),
            "dups": sum(r["dups"] for r in ev), "frames": sum(r["frames"] for r in ev), "cpu": cpu,
            "queries": queries, "pg": pg, "window": [w0, w1]}


def r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def pct_ms(values: list[float], p: float) -> float | None:
    """Percentile of seconds, in milliseconds (one decimal)."""
    x = percentile(values, p)
    return None if x is None else round(x * 1000, 1)


def command_stats(raw: dict, *, window: tuple[float, float] | None = None) -> dict[str, Any]:
    """Rates and latencies over the measuring window (default: the step's):

    - ``offered``: commands scheduled in the window (per second: ``offered_per_s``);
    - ``completed_per_s`` / ``accepted_per_s``: replies (any / ``ok``) that *arrived* in the
      window, per second: what the stack did while loaded, whenever the command was due;
    - round trips: of the commands *sent* in the window (replied, even after it);
    - ``client_lag``: how late the window's scheduled commands left (their socket was waiting);
    - ``refused_or_failed``: error codes of the replies in the window, plus ``not_sent`` and
      ``timeout`` among the window's scheduled / sent commands.
    """
    w0, w1 = window or raw["window"]
    span = w1 - w0
    rows = raw["rows"]
    scheduled = [r for r in rows if w0 <= r[SCHED] < w1]
    replied = [r for r in rows if r[REPLIED] is not None and w0 <= r[REPLIED] < w1]
    sent = [r for r in rows if r[SENT] is not None and w0 <= r[SENT] < w1]
    codes: dict[str, int] = {}
    for r in replied:
        if r[STATUS] != "ok":
            codes[r[CODE] or "?"] = codes.get(r[CODE] or "?", 0) + 1
    for r in scheduled:
        if r[STATUS] == "not_sent":
            codes["not_sent"] = codes.get("not_sent", 0) + 1
    for r in sent:
        if r[STATUS] in ("timeout", "error") and r[REPLIED] is None:
            codes[r[STATUS]] = codes.get(r[STATUS], 0) + 1
    rtt = [r[REPLIED] - r[SENT] for r in sent if r[REPLIED] is not None]
    lag = [r[SENT] - r[SCHED] for r in scheduled if r[SENT] is not None]
    accepted = sum(1 for r in replied if r[STATUS] == "ok")
    return {
        "offered": len(scheduled), "offered_per_s": round(len(scheduled) / span, 1),
        "completed": len(replied), "accepted": accepted, "refused_or_failed": codes,
        "completed_per_s": round(len(replied) / span, 1), "accepted_per_s": round(accepted / span, 1),
        "rtt_p50_ms": pct_ms(rtt, 50), "rtt_p90_ms": pct_ms(rtt, 90), "rtt_p99_ms": pct_ms(rtt, 99),
        "rtt_max_ms": round(max(rtt) * 1000, 1) if rtt else None,
        "client_lag_p50_ms": pct_ms(lag, 50), "client_lag_p99_ms": pct_ms(lag, 99),
        "not_sent_in_step": sum(1 for r in rows if r[STATUS] == "not_sent"),
    }


def _lock_hold(samples: list[float]) -> dict[str, Any] | None:
    """p50 / p99 / max / mean of the row-lock hold samples (ms), None without samples."""
    if not samples:
        return None
    xs = sorted(samples)
    return {"n": len(xs), "p50": xs[len(xs) // 2], "p99": xs[min(len(xs) - 1, int(len(xs) * 0.99))],
            "max": xs[-1], "mean": round(sum(xs) / len(xs), 3)}


def query_stats(raw: dict, kind: str, command: str) -> dict[str, Any]:
    """SQL per command: the Daphne counters of ``<kind>.<command>`` plus its ``authorize``, and
    PostgreSQL's statements of the whole step (every process) per completed command."""
    labels = raw["queries"]["labels"]
    cmd = labels.get(f"{kind}.{command}", {})
    auth = labels.get(f"{kind}.authorize", {})
    calls = cmd.get("calls", 0)
    completed = sum(1 for r in raw["rows"] if r[REPLIED] is not None)
    per = (lambda n: round(n / calls, 2) if calls else None)  # noqa: E731
    return {
        "calls": calls, "failed": cmd.get("failed", 0),
        "queries_per_command": per(cmd.get("queries", 0) + auth.get("queries", 0)),
        "authorize_queries_per_command": per(auth.get("queries", 0)),
        "queries_per_accepted": (round(cmd.get("queries_ok", 0) / (calls - cmd.get("failed", 0)), 2)
                                 if calls - cmd.get("failed", 0) else None),
        "queries_per_refused": round(cmd.get("queries_failed", 0) / cmd["failed"], 2) if cmd.get("failed") else None,
        "max_queries_per_command": cmd.get("max_queries_per_call"),
        "commits_per_command": per(cmd.get("commits", 0) + auth.get("commits", 0)),
        "db_ms_per_command": per(1000 * (cmd.get("db_s", 0) + auth.get("db_s", 0))),
        "by_verb_per_command": {v: per(cmd.get(v, 0) + auth.get(v, 0)) for v in ("select", "insert", "update", "delete", "other_sql")},
        "other_label_queries": labels.get("other", {}).get("queries", 0),
        "lock_hold_ms": _lock_hold(cmd.get("lock_ms") or []),
        "pg_statements_per_command": round(raw["pg"]["statements"] / completed, 2) if completed else None,
        "pg_transactions_per_command": round(raw["pg"]["transactions"] / completed, 2) if completed else None,
        "pg_top": raw["pg"]["top"][:8],
    }


def sockets(stack: HotStack, per_proc: list[list[dict]], *, url: str | None = None, concurrency: int = 25,
            procs: list[LoadProc] | None = None) -> dict[str, Any]:
    """Connect ``per_proc[i]`` sockets in process ``i`` (default: senders then watcher)."""
    procs = procs or (stack.loads + [stack.watcher])
    res = call_all(procs, [{"cmd": "connect", "url": url or stack.ws_url, "sockets": s, "concurrency": concurrency}
                           if s else None for s in per_proc] + [None] * (len(procs) - len(per_proc)))
    res = [r for r in res if r]
    out = {"ok": sum(r["ok"] for r in res), "failed": sum(r["failed"] for r in res),
           "errors": sorted({e for r in res for e in r["errors"]})[:5]}
    if out["failed"]:
        raise RuntimeError(f"{out['failed']} sockets failed to open: {out['errors']}")
    return out


def subscriptions(stack: HotStack, per_proc: list[dict[str, list[str]]], *, join: bool = True,
                  concurrency: int = 50) -> dict[str, Any]:
    """(Un)subscribe open sockets: ``per_proc[i]`` is ``{socket id: [topic]}`` of sender process
    ``i``. Raises ``RuntimeError`` when one fails."""
    procs = stack.loads[:len(per_proc)]
    res = call_all(procs, [{"cmd": "subscribe" if join else "unsubscribe", "subs": s, "concurrency": concurrency}
                           if s else None for s in per_proc])
    res = [r for r in res if r]
    out = {"ok": sum(r["ok"] for r in res), "failed": sum(r["failed"] for r in res),
           "errors": sorted({e for r in res for e in r["errors"]})[:5],
           "seconds": max((r["seconds"] for r in res), default=0.0)}
    if out["failed"]:
        raise RuntimeError(f"{out['failed']} sockets failed to {'' if join else 'un'}subscribe: {out['errors']}")
    return out


def close(stack: HotStack, prefix: str = "") -> None:
    procs = stack.loads + [stack.watcher]
    call_all(procs, [{"cmd": "close", "prefix": prefix}] * len(procs))


def baseline_step(stack: HotStack, step: Step, *, watch: set[str], stats_token: str) -> dict[str, Any]:
    """The same schedule against the bare ``websockets`` server (``bench/baseline_ws.py``):
    every item becomes a ``publish`` on the same topic from a socket of the same process, and
    the watcher process subscribes to the topics in ``watch``. Returns the round trips and the
    publish → watcher latency (``{"commands": ..., "watcher_p50_ms", "watcher_p99_ms"}``)."""
    sample = step.build(time.time())
    socks: list[list[dict]] = []
    for its in sample:
        socks.append([{"id": f"b:{sid}", "token": None, "subs": []} for sid in dict.fromkeys(it[0] for it in its)])
    socks += [[] for _ in range(len(stack.loads) + 1 - len(socks))]
    socks[-1] = socks[-1] + [{"id": f"b:w{i}", "token": None, "subs": [t]} for i, t in enumerate(sorted(watch))]
    sockets(stack, socks, url=stack.baseline_url)
    counter = [0]

    def build(t0: float) -> list[list[list]]:
        out = []
        for its in step.build(t0):
            conv = []
            for sid, off, topic, _name, _data, _key in its:
                counter[0] += 1
                conv.append([f"b:{sid}", off, topic, "publish", {"t": 0, "i": counter[0]}, counter[0]])
            out.append(conv)
        return out

    b = Step(label=f"{step.label} baseline", build=build, duration=step.duration, window=step.window,
             record=(["bench.message"], "data.i"), lead=step.lead, settle=1.0)
    raw = run_step(stack, b, stats_token=stats_token)
    close(stack, "b:")
    sent = {r[KEY]: r[SENT] for r in raw["rows"] if r[SENT] is not None}
    w0, w1 = raw["window"]
    lat = [e[5] - sent[e[4]] for e in raw["events"] if e[4] in sent and w0 <= sent[e[4]] < w1]
    return {"commands": command_stats(raw), "watcher_p50_ms": pct_ms(lat, 50), "watcher_p99_ms": pct_ms(lat, 99),
            "watcher_events": len(lat), "cpu": raw["cpu"]}
