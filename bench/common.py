"""What the socket benchmarks (``auction_bids.py``, ``chat_socket.py``) share: percentiles, and a
throw-away Django test database plus one real Daphne process with the benchmark's settings.

Redis: each benchmark has its own DB index above the test slots of ``scripts/run_tests.py``
(1..12), so that a benchmark never flushes a running test suite's Redis DB.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"

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
