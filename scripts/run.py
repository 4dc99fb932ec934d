#!/usr/bin/env python
"""The one-command development stack behind ``make run``.

1. Unless both ``DATABASE_URL`` and ``REDIS_URL`` are set (in the environment or ``.env``), starts
   or reuses the embedded PostgreSQL and Redis (``core.embedded``, data under ``.data/``).
2. In one short-lived Django process (``scripts/run.py --prepare``): ``migrate --noinput``, the
   demo data (``seed_demo``, idempotent; skipped with a warning when the command does not exist)
   and ``collectstatic --noinput``.
3. Starts three child processes, each in its own process group, their output prefixed with
   their name: ``web`` (Daphne on 127.0.0.1:$PORT through ``realtime.daphne``, which closes
   over-size WebSocket frames with 1009), ``worker`` (Celery, 2 processes) and ``beat``.
4. Waits until ``/health/`` answers 200, then prints the URLs and the demo accounts.

Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the children (SIGTERM, up to ``STOP_TIMEOUT`` seconds,
then SIGKILL for whatever is left in their process groups), then the embedded services if this
run started them, and exits 0; a second Ctrl-C skips the wait. If the stack does not become
healthy, the others are stopped the same way and the exit code is 1.

Once the stack is up, a child that exits on its own (a crash, ``kill -9``, the OOM killer) is
restarted after a back-off of 1, 2, 4, 8, 15, then 30 s between attempts (``RESTART_BACKOFF``; back
to 1 s once a child has run ``STABLE_AFTER`` seconds), while the other children and the embedded
PostgreSQL and Redis keep running; each exit and restart is logged with the ``run`` prefix. Before,
one crashed child (the Celery worker after a Redis restart, issue 14 row 1) stopped everything.

Children also get SIGTERM from the kernel if this process is killed outright (PR_SET_PDEATHSIG,
set by a small exec wrapper in the child so that restarts can fork while output threads run).

Environment: ``DEBUG`` (set to 1 for the children unless given), ``PORT`` (8000),
``DEMO_PASSWORD`` (demo12345, shown in the banner),
``RUN_SEED_DEMO=0`` (skip the demo data), ``RUN_VERBOSE=1`` (also show the tasks beat runs
every second or two when they find nothing to do: the outbox sweep, the auctions and deliveries
ticks; :data:`FREQUENT_BEAT`), ``RUN_HEALTH_TIMEOUT`` (seconds to wait for /health/, 90),
``EMBEDDED_DATA_DIR`` and ``EMBEDDED_REDIS_PORT`` (read by ``core.embedded``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STOP_TIMEOUT = 15.0  # seconds a child gets to exit after SIGTERM (Celery finishes running tasks)
RESTART_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds before the 1st, 2nd, ... restart in a row
STABLE_AFTER = 60.0  # seconds a child must run for its next crash to count as the first again
RESULT_MARKER = "@@run.prepare@@ "
STEP_MARKER = "@@run.step@@ "

# Accounts created by `manage.py seed_demo` (commerce/management/commands/seed_demo.py).
DEMO_ACCOUNTS = [
    ("admin@demo.market", "admin (Django admin too)"),
    ("vendor1@demo.market", "vendor, active store"),
    ("vendor2@demo.market", "vendor, active store"),
    ("vendor3@demo.market", "vendor, store pending approval"),
    ("buyer1@demo.market", "buyer"),
    ("buyer2@demo.market", "buyer"),
    ("buyer3@demo.market", "buyer"),
    ("courier1@demo.market", "courier"),
    ("courier2@demo.market", "courier"),
]

#: beat entries (CELERY_BEAT_SCHEDULE) that run every second or two, and their tasks: the outbox
#: sweep (2 s), the auctions tick and the deliveries tick (1 s). Usually they find nothing to do.
FREQUENT_BEAT = {
    "realtime-outbox-sweep": "realtime.tasks.sweep_outbox",
    "auctions-tick": "auctions.tasks.auctions_tick",
    "delivery-tick": "delivery.tasks.deliveries_tick",
}

# Lines hidden unless RUN_VERBOSE=1: beat sending those tasks, the worker receiving them, and their
# results when they did nothing (0, or a dict of zeros such as {'started': 0, 'closed': 0}). A
# tick that started or closed something, and every other line, is shown.
_names = "|".join(re.escape(name) for name in FREQUENT_BEAT)
_tasks = "|".join(re.escape(task) for task in FREQUENT_BEAT.values())
QUIET = re.compile(
    rf"Scheduler: Sending due task ({_names}) "
    rf"|Task ({_tasks})\[[^\]]+\] (received|succeeded in \S+: (0|None|\{{('\w+': 0(, )?)*\}}))$"
)

_COLORS = {"run": "1", "setup": "36", "web": "32", "worker": "33", "beat": "35"}
_out_lock = threading.Lock()
_use_color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def say(name: str, line: str) -> None:
    """Write one output line prefixed with ``name``."""
    prefix = f"{name:<6} |"
    if _use_color:
        prefix = f"\033[{_COLORS.get(name, '0')}m{prefix}\033[0m"
    with _out_lock:
        try:
            sys.stdout.write(f"{prefix} {line}\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            pass  # stdout went away (a closed pipe): keep draining the children's output anyway


# --- the --prepare step (runs in a child process with Django set up) --------------------------
def _step(name: str) -> None:
    print(f"{STEP_MARKER}{name}", flush=True)


def prepare() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    _step("django.setup")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command, get_commands

    _step("migrate")
    call_command("migrate", interactive=False, verbosity=1)
    if os.environ.get("RUN_SEED_DEMO", "1") == "0":
        seed = "skipped"
        print("RUN_SEED_DEMO=0: demo data skipped.", flush=True)
    elif not settings.DEBUG:
        seed = "debug_off"
        print("DEBUG is off: demo data skipped (seed_demo runs only with DEBUG on).", flush=True)
    elif "seed_demo" in get_commands():
        seed = "ran"
        _step("seed_demo")
        print("Loading demo data (manage.py seed_demo)...", flush=True)
        call_command("seed_demo")
    else:
        seed = "missing"
        print("WARNING: manage.py seed_demo does not exist yet; no demo data was loaded.", flush=True)
    if getattr(settings, "STATIC_ROOT", None):
        _step("collectstatic")
        call_command("collectstatic", interactive=False, verbosity=1)
    emails = [email for email, _ in DEMO_ACCOUNTS]
    found = {u.email: sorted(u.roles or []) for u in get_user_model().objects.filter(email__in=emails)}
    print(RESULT_MARKER + json.dumps({"seed": seed, "accounts": found}), flush=True)
    return 0


# --- child processes ---------------------------------------------------------------------------
# Runs first in every child (python -c): die with SIGTERM when this supervisor dies, even by
# SIGKILL (PR_SET_PDEATHSIG survives exec), then exec the real command in the same process. A
# preexec_fn would do the same but is unsafe once the output threads run, and restarts fork then.
_DEATHSIG_EXEC = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


class Child:
    """A named child process in its own process group (so a terminal Ctrl-C reaches only this
    supervisor, which then stops the children in order) with its output pumped line by line."""

    def __init__(self, name: str, argv: list[str], on_line=None) -> None:  # noqa: ANN001
        self.name = name
        self.argv = argv
        self.proc: subprocess.Popen | None = None
        self.thread: threading.Thread | None = None
        self.on_line = on_line  # optional filter: return True to swallow a line
        self.started_at = 0.0  # time.monotonic() of the last start
        self.crashes = 0  # exits in a row, each within STABLE_AFTER seconds of its start
        self.restart_at: float | None = None  # when a pending restart is due (monotonic)
        self.env: dict[str, str] = {}

    def start(self, env: dict[str, str]) -> None:
        self.env = env
        self.started_at = time.monotonic()
        self.restart_at = None
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _DEATHSIG_EXEC, str(os.getpid()), *self.argv],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def pump(self) -> None:
        def run() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for raw in iter(self.proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if self.on_line is None or not self.on_line(line):
                    say(self.name, line)

        self.thread = threading.Thread(target=run, name=f"pump-{self.name}", daemon=True)
        self.thread.start()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (e.g. Celery's pool processes)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()


class Stopping(Exception):
    """Raised in the main thread when a stop signal arrived."""


class Supervisor:
    def __init__(self) -> None:
        self.port = int(os.environ.get("PORT", "8000"))
        self.children: list[Child] = []
        self.stop_signal: int | None = None
        self.force = False
        self.started_services = False
        self.embedded = False  # the embedded PostgreSQL and Redis serve this run

    # signals -------------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame) -> None:  # noqa: ANN001
        if self.stop_signal is None:
            self.stop_signal = signum
        else:
            self.force = True  # second Ctrl-C: don't wait for graceful exits

    def install_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def check_stop(self) -> None:
        if self.stop_signal is not None:
            raise Stopping

    # steps ---------------------------------------------------------------------------------
    def check_port(self) -> None:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                raise SystemExit(
                    f"run: port {self.port} on 127.0.0.1 is already in use (another `make run`?). "
                    f"Stop it or choose another port: make run PORT={self.port + 1}"
                ) from None

    def services(self, env: dict[str, str]) -> str:
        """Ensure the embedded services when needed; return a one-line description."""
        if env.get("DATABASE_URL") and env.get("REDIS_URL"):
            return "external PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
        from core import embedded

        self.embedded = True
        self.started_services = not embedded.services_running()
        say("run", ("starting" if self.started_services else "reusing") + f" embedded PostgreSQL and Redis in {embedded.DATA_DIR}")
        urls = embedded.ensure_services()
        env.setdefault("DATABASE_URL", urls.database_url)
        env.setdefault("REDIS_URL", urls.redis_url)
        return (f"embedded PostgreSQL (socket in {embedded.PG_DIR}) and Redis ({urls.redis_url})"
                + ("" if self.started_services else "; already running, left running at exit"))

    def run_prepare(self, env: dict[str, str]) -> dict:
        result: dict = {}
        step = ["start"]

        def grab(line: str) -> bool:
            if line.startswith(RESULT_MARKER):
                result.update(json.loads(line[len(RESULT_MARKER):]))
                return True
            if line.startswith(STEP_MARKER):
                step[0] = line[len(STEP_MARKER):]
                return True
            return False

        child = Child("setup", [sys.executable, str(Path(__file__).resolve()), "--prepare"])
        child.on_line = grab
        self.children.append(child)
        child.start(env)
        child.pump()
        while child.poll() is None:
            if self.stop_signal is not None:
                child.terminate()
                child.proc.wait()
                raise Stopping
            time.sleep(0.05)
        child.thread.join(5)
        self.children.remove(child)
        if child.poll() != 0:
            hint = " To start without demo data: RUN_SEED_DEMO=0 make run" if step[0] == "seed_demo" else ""
            raise RuntimeError(f"setup step {step[0]!r} failed (exit code {child.poll()}); see its output above.{hint}")
        return result

    def start_children(self, env: dict[str, str], data_dir: Path) -> None:
        py = sys.executable
        data_dir.mkdir(parents=True, exist_ok=True)
        quiet = None if os.environ.get("RUN_VERBOSE") else (lambda line: QUIET.search(line) is not None)
        self.children += [
            Child("web", [py, "-m", "realtime.daphne", "-b", "127.0.0.1", "-p", str(self.port),
                          "--ping-interval", "25", "--ping-timeout", "30",
                          "--websocket-max-message-size", "65536",
                          "core.asgi:application"]),
            Child("worker", [py, "-m", "celery", "-A", "core", "worker", "-l", "info",
                             "--concurrency", "2", "--without-mingle", "--without-gossip"], quiet),
            Child("beat", [py, "-m", "celery", "-A", "core", "beat", "-l", "info",
                           "--schedule", str(data_dir / "celerybeat-schedule")], quiet),
        ]
        for child in self.children:
            child.start(env)
        for child in self.children:
            child.pump()

    def dead_child(self) -> Child | None:
        for child in self.children:
            if child.poll() is not None:
                return child
        return None

    def wait_healthy(self, timeout: float) -> None:
        url = f"http://127.0.0.1:{self.port}/health/"
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self.check_stop()
            dead = self.dead_child()
            if dead is not None:
                raise RuntimeError(f"{dead.name} exited with code {dead.poll()} during start-up")
            try:
                with urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
                    last = f"HTTP {r.status}"
            except HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:200].decode('utf-8', 'replace')}"
            except (URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s (last: {last})")

    def banner(self, prepared: dict, services: str, elapsed: float) -> None:
        base = f"http://127.0.0.1:{self.port}"
        lines = [
            "",
            f"Marketplace is up in {elapsed:.1f} s.",
            f"  REST API base    {base}/api/v1/",
            f"  Swagger UI       {base}/api/docs/",
            f"  OpenAPI schema   {base}/api/v1/schema/",
            f"  Health           {base}/health/",
            f"  WebSocket        ws://127.0.0.1:{self.port}/ws/",
            f"  Admin            {base}/admin/",
            f"  Console          {base}/console/",
            f"  Services         {services}",
        ]
        accounts = prepared.get("accounts") or {}
        if accounts:
            password = os.environ.get("DEMO_PASSWORD", "demo12345")
            lines.append(f"Demo accounts (password: {password}):")
            for email, what in DEMO_ACCOUNTS:
                if email in accounts:
                    lines.append(f"  {email:<22} {what}")
            missing = [e for e, _ in DEMO_ACCOUNTS if e not in accounts]
            if missing:
                lines.append(f"  (not in the database: {', '.join(missing)})")
        else:
            lines.append({
                "ran": "seed_demo ran but none of the expected demo accounts exist.",
                "skipped": "No demo data (RUN_SEED_DEMO=0).",
                "debug_off": "No demo data (DEBUG is off).",
            }.get(prepared.get("seed"), "No demo data: manage.py seed_demo is not available yet."))
        lines += ["Press Ctrl-C to stop.", ""]
        for line in lines:
            say("run", line)

    def supervise(self) -> int:
        """Block until a stop signal (returns 0), restarting any child that exits meanwhile
        after its back-off (module docstring)."""
        while True:
            if self.stop_signal is not None:
                return 0
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        self.restart(child)
                    continue
                code = child.poll()
                if code is None:
                    continue
                ran = now - child.started_at
                child.crashes = 1 if ran >= STABLE_AFTER else child.crashes + 1
                delay = RESTART_BACKOFF[min(child.crashes, len(RESTART_BACKOFF)) - 1]
                child.restart_at = now + delay
                kept = "the other processes" + (" and the embedded PostgreSQL and Redis" if self.embedded else "")
                say("run", f"{child.name} (pid {child.pid}) exited with code {code} after {ran:.0f} s; restarting it "
                           f"in {delay:.0f} s (attempt {child.crashes}); {kept} keep running")
            time.sleep(0.2)

    def restart(self, child: Child) -> None:
        """Start ``child`` again after reaping what its last run left in its process group."""
        child.signal_group(signal.SIGKILL)  # e.g. Celery pool processes of a killed worker
        if child.thread is not None:
            child.thread.join(2)
        child.start(child.env)
        child.pump()
        say("run", f"{child.name} restarted (pid {child.pid})")

    def stop_children(self) -> None:
        alive = [c for c in self.children if c.poll() is None]
        if alive:
            say("run", "stopping " + ", ".join(f"{c.name} (pid {c.pid})" for c in alive))
        t0 = time.monotonic()
        for child in alive:
            child.terminate()
        deadline = t0 + STOP_TIMEOUT
        waiting = list(alive)
        while waiting and time.monotonic() < deadline and not self.force:
            for child in list(waiting):
                if child.poll() is not None:
                    waiting.remove(child)
                    say("run", f"{child.name} stopped (exit code {child.poll()}) after {time.monotonic() - t0:.1f} s")
            time.sleep(0.05)
        for child in self.children:
            if child.poll() is None:
                say("run", f"{child.name} did not stop in time; killing it")
            child.signal_group(signal.SIGKILL)  # the child and anything it left in its group
            if child.proc is not None:
                child.proc.wait()
            if child.thread is not None:
                child.thread.join(2)

    def main(self) -> int:
        t0 = time.monotonic()
        code = 0
        self.install_signals()
        # core.embedded points XDG_RUNTIME_DIR at .data/run, which platformdirs finds too open.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        try:
            import environ

            if (ROOT / ".env").exists():  # the same .env that core/settings.py reads
                environ.Env.read_env(ROOT / ".env")
        except ImportError:
            raise SystemExit("run: dependencies are missing; use `make run` (it installs them into .venv)") from None
        self.check_port()
        env = dict(os.environ)
        env["PORT"] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"
        # A development stack: DEBUG on (development secrets, the test payment gateway and demo data
        # accepted) unless the environment or .env says otherwise. Everywhere else DEBUG is off.
        env.setdefault("DEBUG", "1")
        try:
            services = self.services(env)
            self.check_stop()
            from core import embedded

            prepared = self.run_prepare(env)
            self.check_stop()
            self.start_children(env, embedded.DATA_DIR)
            self.wait_healthy(float(os.environ.get("RUN_HEALTH_TIMEOUT", "90")))
            self.banner(prepared, services, time.monotonic() - t0)
            code = self.supervise()
        except Stopping:
            code = 0
        except Exception as exc:  # noqa: BLE001 - report, clean up, exit non-zero
            say("run", f"ERROR: {exc}")
            code = 1
        finally:
            # Further signals only shorten the shutdown; they must not interrupt it.
            self.stop_children()
            if self.started_services:
                from core import embedded

                say("run", "stopping the embedded PostgreSQL and Redis (started by this run)")
                embedded.stop_services()
        say("run", "stopped" if code == 0 else "stopped after an error (exit code 1)")
        return code


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        sys.exit(prepare())
    sys.exit(Supervisor().main())
