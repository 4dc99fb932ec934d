#!/usr/bin/env python
"""Check the architecture contracts, then run the test suite against real PostgreSQL and Redis.

First ``lint-imports`` checks the import-linter contracts of ``.importlinter`` (the layering of
``docs/architecture.md``); a broken contract fails the run before any test starts. Then it
starts the embedded services when ``DATABASE_URL`` / ``REDIS_URL`` are unset (and stops them
afterwards if this run started them), and runs pytest with any extra arguments. pytest's exit
code 5 ("no tests collected") is reported as a failure: a green run must have run tests.

Several runs at once on one machine (two terminals, CI and a benchmark) stay apart: unless
``TEST_DB_SUFFIX`` / ``TEST_REDIS_DB`` are set, each run takes the first free *slot* 1..12 (an
exclusive ``flock`` on ``.data/test-slots/<n>.lock`` held for the run) and uses the database
``test_marketplace_s<n>`` and Redis DB ``<n>``. DB 0 stays for ``make run``, 13 to 15 for the
benchmarks (``bench/common.py``).
"""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def take_slot():
    """Lock the first free slot; returns ``(n, open lock file)`` (keep the file open)."""
    folder = ROOT / ".data" / "test-slots"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 13):
        handle = open(folder / f"{n}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return n, handle
    raise SystemExit("run_tests: all 12 test slots are busy")


def other_runs_active(own) -> bool:
    """True when another run holds a slot (then the shared embedded services must stay up)."""
    folder = ROOT / ".data" / "test-slots"
    for path in folder.glob("*.lock"):
        if own is not None and Path(own.name) == path:
            continue
        with open(path, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def lint_imports() -> int:
    """Run ``lint-imports`` (import-linter, from this interpreter's environment) on ``.importlinter``;
    returns its exit code (0: every contract kept)."""
    return subprocess.call(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"],
        cwd=ROOT,
    )


def main() -> int:
    code = lint_imports()
    if code:
        print("run_tests: an architecture contract is broken (lint-imports above); no tests run", file=sys.stderr)
        return code
    started = False
    env = dict(os.environ)
    slot_lock = None
    if not env.get("TEST_DB_SUFFIX") and not env.get("TEST_REDIS_DB"):
        slot, slot_lock = take_slot()
        env["TEST_DB_SUFFIX"] = f"_s{slot}"
        env["TEST_REDIS_DB"] = str(slot)
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        from core import embedded

        started = not embedded.services_running()
        urls = embedded.ensure_services()
        env.setdefault("DATABASE_URL", urls.database_url)
        env.setdefault("REDIS_URL", urls.redis_url)
    try:
        code = subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=env)
    finally:
        if started and not env.get("KEEP_SERVICES") and not other_runs_active(slot_lock):
            from core import embedded

            embedded.stop_services()
    if code == 5:
        print("run_tests: pytest collected no tests; failing the run", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
