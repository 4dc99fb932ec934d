"""What the socket benchmarks share.

- percentiles;
- for ``auction_bids.py`` and ``chat_socket.py``: a throw-away Django test database on the
  project's embedded PostgreSQL plus one real Daphne process with the benchmark's settings
  (:func:`setup_django`, :func:`bench_database`, :func:`start_daphne`);
- for ``gateway.py`` and ``hot_paths.py``: their own embedded PostgreSQL and Redis in a temporary
  directory (:func:`embedded_setup`, :func:`service_pids`), process helpers reading ``/proc``
  (CPU per phase with :class:`Meter`), and ``py-spy`` profiles (:class:`Profiler`).

Redis: ``auction_bids.py`` and ``chat_socket.py`` each have their own DB index above the test
slots of ``scripts/run_tests.py`` (1..12), so that a benchmark never flushes a running test
suite's Redis DB; the others run their own Redis server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")

#: Redis DB per benchmark (scripts/run_tests.py uses 1..12 for test runs; 0 is `make run`'s)
#: (the escrow, memory-churn and event-validation benchmarks share DB 15: each flushes it first, run them
#: one at a time)
REDIS_DBS = {"chat": 13, "bids": 14, "escrow": 15, "churn": 15, "events": 15, "import": 15}


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (0..100) of ``values`` by linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def setup_django(tmp: Path, *, name: str, settings_text: str) -> str:
    """Write ``settings_text`` as module ``<name>_bench_settings`` under ``tmp``, point Django at
    it with the test database ``test_marketplace_<name>bench`` and Redis DB ``REDIS_DBS[name]``,
    and call ``django.setup()``. Returns the settings module's name."""
    module = f"{name}_bench_settings"
    (tmp / f"{module}.py").write_text(settings_text)
    sys.path.insert(0, str(tmp))
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    os.environ["TEST_DB_SUFFIX"] = f"_{name}bench"
    os.environ["TEST_REDIS_DB"] = str(REDIS_DBS[name])
    import django

    django.setup()
    return module


@contextmanager
def bench_database(name: str):
    """A migrated throw-away database (dropped on exit) and an empty Redis DB for benchmark ``name``."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from realtime.streams import sync_client

    assert settings.REDIS_URL.endswith(f"/{REDIS_DBS[name]}"), settings.REDIS_URL
    sync_client().flushdb()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        connection.close()
        teardown_databases(old, verbosity=0)


def start_daphne(tmp: Path, settings_module: str):
    """A real Daphne process (``tests.live.LiveServer``) on the benchmark's settings and database,
    started by the production launcher ``realtime.daphne`` (not the test suite's, which re-reads
    content types on every lookup)."""
    from django.db import connection

    from tests.live import LiveServer

    connection.close()
    return LiveServer(tmp / "daphne.log", launcher="realtime.daphne", DJANGO_SETTINGS_MODULE=settings_module,
                      PYTHONPATH=f"{tmp}:{BASE_DIR}")


# ------------------------------------------------------------------ own embedded PostgreSQL + Redis
def embedded_setup(tmp: Path, *, settings_text: str, module: str, redis_port: int) -> dict:
    """Start an embedded PostgreSQL and Redis of this benchmark's own under ``tmp`` (never
    ``.data/``, never the test databases; Redis on the first free port from ``redis_port``),
    write ``settings_text`` as settings module ``module`` under ``tmp``, ``django.setup()`` and
    migrate. Returns the environment for child processes (Daphne, Celery) using the same
    database, Redis and settings. Stop the services with ``core.embedded.stop_services()``."""
    os.environ["EMBEDDED_DATA_DIR"] = str(tmp / "data")
    os.environ["EMBEDDED_REDIS_PORT"] = str(redis_port)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("XDG_RUNTIME_DIR", None)
    (tmp / f"{module}.py").write_text(settings_text)
    sys.path.insert(0, str(tmp))
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert str(tmp) in settings.DATABASES["default"]["HOST"], settings.DATABASES["default"]["HOST"]
    call_command("migrate", verbosity=0, interactive=False)
    env = dict(os.environ)
    env.update(PYTHONPATH=f"{tmp}:{BASE_DIR}", DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=os.environ["REDIS_URL"],
               PYTHONUNBUFFERED="1")
    return env


# ----------------------------------------------------------------------------- processes, /proc
def raise_fd_limit() -> None:
    """Raise this process's open-file limit to the hard limit (load processes hold many sockets)."""
    import resource

    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass


async def serve_json_lines(handlers: dict) -> None:
    """The loop of a load process: print ``{"ready": true}``, then for each JSON line on stdin
    ``{"cmd": name, ...}`` answer one JSON line with ``await handlers[name](msg)`` (or
    ``{"error": "..."}``) until ``{"cmd": "exit"}`` or the end of stdin."""
    import asyncio
    import json

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if msg["cmd"] == "exit":
            break
        try:
            out = await handlers[msg["cmd"]](msg)
        except Exception as exc:  # noqa: BLE001
            out = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(out, separators=(",", ":")) + "\n")
        sys.stdout.flush()



def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    """A progress line with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds; 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def proc_rss_kb(pid: int) -> int:
    """Resident set size of a process, KiB (0 if unknown)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children_of(ppid: int) -> list[int]:
    """Pids of the direct children of ``ppid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == ppid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out



class Meter:
    """CPU of each side over a phase (% of one core) and the load average.

    A group's CPU is the sum over its processes; processes that exit during the phase (PostgreSQL
    backends) are counted through their parent's cutime/cstime, so short-lived children are not lost.
    """

    def __init__(self, groups: dict[str, callable]) -> None:
        self.groups = groups  # name -> callable returning pids

    @staticmethod
    def _one(pid: int) -> tuple[float, float]:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK
        except (OSError, IndexError, ValueError):
            return 0.0, 0.0

    def snap(self) -> dict[str, dict[int, tuple[float, float]]]:
        return {name: {p: self._one(p) for p in pids()} for name, pids in self.groups.items()}

    @staticmethod
    def machine() -> tuple[float, float, float]:
        """(busy, steal, total) CPU seconds of the whole machine so far (``/proc/stat``)."""
        try:
            f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return 0.0, 0.0, 0.0
        user, nice, system, idle, iowait, irq, softirq, steal = (f + [0] * 8)[:8]
        return (user + nice + system + irq + softirq) / TICK, steal / TICK, (sum(f[:8])) / TICK

    def start(self) -> None:
        self.t0, self.c0, self.m0 = time.perf_counter(), self.snap(), self.machine()

    def stop(self) -> dict:
        """``{"cpu_pct_of_core": {group: %}, "machine_busy_pct_of_core", "others_pct_of_core"
        (the machine's busy CPU not in any group: other users), "steal_pct_of_core", "loadavg",
        "seconds"}``."""
        dt = time.perf_counter() - self.t0
        c1 = self.snap()
        m1 = self.machine()
        cpu = {}
        for k, now in c1.items():
            before = self.c0[k]
            d = sum(v[0] - before.get(p, (0.0, 0.0))[0] for p, v in now.items())
            d += sum(now[p][1] - before[p][1] for p in now if p in before)
            d -= sum(v[0] for p, v in before.items() if p not in now)
            cpu[k] = round(100 * d / dt, 1)
        busy = round(100 * (m1[0] - self.m0[0]) / dt, 1)
        return {"cpu_pct_of_core": cpu, "machine_busy_pct_of_core": busy,
                "others_pct_of_core": round(max(0.0, busy - sum(cpu.values())), 1),
                "steal_pct_of_core": round(100 * (m1[1] - self.m0[1]) / dt, 1),
                "loadavg": [round(x, 2) for x in os.getloadavg()], "seconds": round(dt, 2)}



def wait_port(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    """Wait until ``proc`` listens on ``port``; raises ``RuntimeError`` with its log tail if it
    exits or does not listen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen: {log_path.read_text()[-3000:]}")



# ------------------------------------------------------------------------------------ profiling
class Profiler:
    """``py-spy record`` of a process during one phase, raw (collapsed) stacks, summarised."""

    def __init__(self, enabled: bool, tmp: Path, prefix: str = "gateway", copy_to: Path | None = RESULTS_DIR) -> None:
        """``prefix``: raw stacks are copied to ``<copy_to>/<prefix>.profile-<label>.txt`` (not
        copied when ``copy_to`` is None)."""
        self.prefix, self.copy_to = prefix, copy_to
        self.exe = shutil.which("py-spy") or (str(Path(PY).parent / "py-spy") if (Path(PY).parent / "py-spy").exists() else None)
        self.enabled = enabled and self.exe is not None
        self.tmp = tmp
        self.results: dict[str, dict] = {}

    def start(self, label: str, pid: int):
        if not self.enabled:
            return None
        out = self.tmp / f"{label}.txt"
        p = subprocess.Popen([self.exe, "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", str(out),
                              "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        return (label, p, out)

    def stop(self, handle) -> None:
        if handle is None:
            return
        label, p, out = handle
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            err = b""
        if not out.exists():
            self.results[label] = {"error": err.decode(errors="replace")[-500:]}
            return
        self.results[label] = summarise_profile(out.read_text())
        if self.copy_to is not None:
            shutil.copy(out, self.copy_to / f"{self.prefix}.profile-{label}.txt")


def _short(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)`` or ``func (package/file.py)``."""
    # "func (path/to/file.py:123)" -> "func (file.py)"
    if " (" in frame:
        fn, rest = frame.split(" (", 1)
        path = rest.rstrip(")").rsplit(":", 1)[0]
        parts = path.split("/")
        pkg = next((parts[i + 1] for i, x in enumerate(parts) if x == "site-packages" and i + 1 < len(parts)), None)
        where = f"{pkg}/{parts[-1]}" if pkg and pkg != parts[-1] else parts[-1]
        return f"{fn} ({where})"
    return frame


def summarise_profile(text: str, top: int = 15) -> dict:
    """Top ``top`` functions by self and by inclusive share (%) of py-spy raw (collapsed) stacks:
    ``{"samples", "self": [(function, %)], "inclusive": [(function, %)]}``."""
    self_c: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        n = int(n)
        total += n
        frames = [_short(f) for f in stack.split(";") if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        self_c[frames[-1]] = self_c.get(frames[-1], 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n
    pct = lambda d: [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]  # noqa: E731
    return {"samples": total, "self": pct(self_c), "inclusive": pct(incl)}



def service_pids(tmp: Path) -> tuple[callable, callable]:
    """Callables returning the pids of the embedded PostgreSQL (postmaster + backends) and Redis
    started by :func:`embedded_setup` under ``tmp``."""
    data = tmp / "data"

    def pg() -> list[int]:
        try:
            master = int((data / "pg" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [master] + children_of(master)

    def redis() -> list[int]:
        try:
            return [int((data / "redis" / "redis.pid").read_text().strip())]
        except (OSError, ValueError):
            return []

    return pg, redis
