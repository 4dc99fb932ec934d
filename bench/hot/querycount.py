"""Bench-only: count the SQL of every socket command inside the benchmark's Daphne process.

:func:`install` (called by ``bench/hot/serve.py`` after ``django.setup()``, never by the
product) does three things:

- every database connection of the process gets a ``connection.execute_wrapper`` (Django's
  documented hook, added when the connection is created) that counts each statement and its time
  under the *label* of the current thread;
- each registered topic's command handlers and its ``authorize`` are wrapped so that the thread
  running them carries the label ``<kind>.<command>`` / ``<kind>.authorize`` (the gateway calls
  ``authorize`` then the handler in one thread; the outbox relay runs in that thread on commit,
  so its queries count for the command too);
- ``commit`` / ``rollback`` of the PostgreSQL backend are counted the same way (Django opens a
  transaction with the first statement and ends it with ``commit()``; neither is an ``execute``).

- the **row-lock hold time** of a labelled command that locks a row of one of
  :data:`LOCK_TABLES` (``SELECT ... FROM "auctions_auction" ... FOR UPDATE``): from that
  statement's return to the end of its ``commit`` / ``rollback``, per command (``lock_ms``
  samples; a hot auction's bids per second are bounded by one over it).

Statements outside any label (``auth``, snapshots, the sweep) count under ``other``. The counts
are read and reset over a socket through the bench-only topic ``benchstats:<any>`` (command
``snapshot`` with ``{"reset": true|false}``), registered here too.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import threading
import time
from typing import Any

_lock = threading.Lock()
_local = threading.local()
_counts: dict[str, dict[str, float]] = {}
_started = time.time()

VERBS = ("select", "insert", "update", "delete")
#: tables whose row lock is timed (``lock_ms``)
LOCK_TABLES = ('"auctions_auction"', '"chat_conversation"')
#: samples kept per label
MAX_LOCK_SAMPLES = 50000


def _bucket(label: str) -> dict[str, float]:
    b = _counts.get(label)
    if b is None:
        b = _counts[label] = {"calls": 0, "failed": 0, "queries": 0, "db_s": 0.0, "commits": 0, "rollbacks": 0,
                              **{v: 0 for v in VERBS}, "other_sql": 0,
                              "queries_ok": 0, "queries_failed": 0, "max_queries_per_call": 0, "lock_ms": []}
    return b


#: the label of an ``async def`` command: asgiref copies context variables into the threads of
#: ``sync_to_async``, so the ORM work such a command hands to a thread counts for it too
_async_label: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_command_label", default=None)


def current_label() -> str:
    return getattr(_local, "label", None) or _async_label.get() or "other"


def _count_query(execute, sql, params, many, context):
    t0 = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        dt = time.perf_counter() - t0
        verb = sql.lstrip()[:6].lower() if isinstance(sql, str) else ""
        _local.queries = getattr(_local, "queries", 0) + 1
        if (verb == "select" and getattr(_local, "lock_t0", None) is None and "FOR " in sql and "UPDATE" in sql
                and any(f"FROM {t}" in sql for t in LOCK_TABLES)):
            _local.lock_t0 = time.perf_counter()
        with _lock:
            b = _bucket(current_label())
            b["queries"] += 1
            b["db_s"] += dt
            b[verb if verb in VERBS else "other_sql"] += 1


def _on_connection_created(sender, connection, **kwargs) -> None:
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_query)


def _labelled(label: str, fn):
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def run_async(*args, **kwargs):
            token = _async_label.set(label)
            ok = False
            try:
                result = await fn(*args, **kwargs)
                ok = True
                return result
            finally:
                _async_label.reset(token)
                with _lock:
                    b = _bucket(label)
                    b["calls"] += 1
                    b["failed"] += 0 if ok else 1

        return run_async

    @functools.wraps(fn)
    def run(*args, **kwargs):
        previous = getattr(_local, "label", None)
        _local.label = label
        before = getattr(_local, "queries", 0)
        ok = False
        try:
            result = fn(*args, **kwargs)
            ok = True
            return result
        finally:
            _local.label = previous
            n = getattr(_local, "queries", 0) - before
            with _lock:
                b = _bucket(label)
                b["calls"] += 1
                b["failed"] += 0 if ok else 1
                b["queries_ok" if ok else "queries_failed"] += n
                b["max_queries_per_call"] = max(b["max_queries_per_call"], n)

    return run


def _patch_transactions() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper

    if getattr(DatabaseWrapper, "_bench_counted", False):
        return
    commit, rollback = DatabaseWrapper.commit, DatabaseWrapper.rollback

    def lock_released(label: str) -> None:
        t0 = getattr(_local, "lock_t0", None)
        if t0 is not None:
            _local.lock_t0 = None
            with _lock:
                samples = _bucket(label)["lock_ms"]
                if len(samples) < MAX_LOCK_SAMPLES:
                    samples.append(round(1000 * (time.perf_counter() - t0), 3))

    def counted_commit(self):
        label = current_label()
        with _lock:
            _bucket(label)["commits"] += 1
        try:
            return commit(self)
        finally:
            lock_released(label)

    def counted_rollback(self):
        label = current_label()
        with _lock:
            _bucket(label)["rollbacks"] += 1
        try:
            return rollback(self)
        finally:
            lock_released(label)

    DatabaseWrapper.commit, DatabaseWrapper.rollback = counted_commit, counted_rollback
    DatabaseWrapper._bench_counted = True


def snapshot(*, reset: bool = False) -> dict[str, Any]:
    """``{"pid", "since", "labels": {label: {calls, failed, queries, db_s, commits, rollbacks,
    select, insert, update, delete, other_sql, queries_ok, queries_failed (statements of the calls
    that returned / raised), max_queries_per_call, lock_ms (row-lock hold samples)}}}``; with ``reset`` the counts start again."""
    global _started
    with _lock:
        out = {"pid": os.getpid(), "since": _started, "at": time.time(),
               "labels": {k: {**v, "lock_ms": list(v["lock_ms"])} for k, v in _counts.items()}}
        if reset:
            _counts.clear()
            _started = time.time()
    return out


def install() -> None:
    """Hook the counters into this process (call once, after ``django.setup()``)."""
    from django.db.backends.signals import connection_created

    from realtime.registry import Topic, command, get_topic, register, registered_kinds

    connection_created.connect(_on_connection_created, weak=False)
    _patch_transactions()
    for kind in registered_kinds():
        topic = get_topic(kind)
        topic.authorize = _labelled(f"{kind}.authorize", topic.authorize)
        for name, (fn, bucket) in list(topic.commands.items()):
            topic.commands[name] = (_labelled(f"{kind}.{name}", fn), bucket)

    @register
    class BenchStatsTopic(Topic):
        """``benchstats:<any>``: any signed-in user reads (and resets) the counters."""

        kind = "benchstats"

        def authorize(self, *, user, key):
            return user is not None and user.is_authenticated

        @command("snapshot")
        def read(self, *, user, key, data):
            return snapshot(reset=bool((data or {}).get("reset")))
