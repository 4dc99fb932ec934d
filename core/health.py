"""``GET /health/``: what is up, answered within ``HEALTH_TIMEOUT`` seconds whatever is down.

200 when every dependency answered, 503 naming what did not::

    {"status": "down", "database": "ok", "redis": "down",
     "checks": {"database": {"status": "ok", "ms": 1.8},
                "redis": {"status": "down", "ms": 1000.4, "error": "timeout"}},
     "token_revocation_checks_skipped": 12}

Each check (``SELECT 1`` through Django's connection; ``PING`` on a Redis client of its own with
``HEALTH_TIMEOUT`` as connect and read timeout, no retry) runs in a thread of a small pool and
the view waits for all of them at most ``HEALTH_TIMEOUT`` (default 1.5 s): a check that has not
answered by then counts as ``down`` with ``"error": "timeout"``. While the last check of a
dependency has been running for longer than ``HEALTH_TIMEOUT`` (hung on a frozen server) no new
one is started, so probes do not pile up hung threads; it is reported down with ``"error":
"previous check still running"``. A broker on
another URL than ``REDIS_URL`` (``CELERY_BROKER_URL``) is checked as ``broker``.
``token_revocation_checks_skipped`` counts the access tokens this process accepted without the
logout denylist while Redis was down (``core.tokens``).

Before: one blocking ``SELECT 1`` then one ``PING`` without timeouts; with Redis frozen it
answered after 9 s, ``redis: ok`` (issue 14, row 3).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.tokens import revocation_checks_skipped

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
_latest: dict[str, tuple[Future, float]] = {}  # per check: its last future and when it started
_lock = threading.Lock()


def _timeout() -> float:
    return settings.HEALTH_TIMEOUT


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    t = _timeout()
    return redis.Redis.from_url(url, socket_connect_timeout=t, socket_timeout=t, retry=Retry(NoBackoff(), 0))


def _check_database() -> None:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        connection.close()  # back to the pool; a health thread keeps no connection


def _checks() -> dict[str, callable]:
    checks = {"database": _check_database, "redis": lambda: _redis_client(settings.REDIS_URL).ping()}
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if broker.startswith(("redis://", "rediss://")) and broker != settings.REDIS_URL:
        checks["broker"] = lambda: _redis_client(broker).ping()
    return checks


def _timed(fn) -> float:
    t0 = time.monotonic()
    fn()
    return (time.monotonic() - t0) * 1000


def run_checks() -> dict[str, dict]:
    """Run every check at once; ``{name: {"status": "ok"|"down", "ms": float, "error"?: str}}``
    within ``HEALTH_TIMEOUT`` seconds."""
    started = time.monotonic()
    futures: dict[str, Future] = {}
    results: dict[str, dict] = {}
    with _lock:
        for name, fn in _checks().items():
            previous, since = _latest.get(name, (None, 0.0))
            if previous is not None and not previous.done() and started - since > _timeout():
                results[name] = {"status": "down", "ms": 0.0, "error": "previous check still running"}
                continue
            futures[name] = _executor.submit(_timed, fn)
            _latest[name] = (futures[name], started)
    wait(futures.values(), timeout=_timeout())
    for name, future in futures.items():
        if not future.done():
            results[name] = {"status": "down", "ms": round((time.monotonic() - started) * 1000, 1), "error": "timeout"}
        elif future.exception() is not None:
            exc = future.exception()
            # the class only: /health/ is public, and messages name hosts and ports. A client's own
            # read timeout (it equals HEALTH_TIMEOUT) is the same finding as the wait running out.
            error = "timeout" if isinstance(exc, (TimeoutError, redis.TimeoutError)) else exc.__class__.__name__
            results[name] = {"status": "down", "ms": round((time.monotonic() - started) * 1000, 1), "error": error}
        else:
            results[name] = {"status": "ok", "ms": round(future.result(), 1)}
    return results


@require_GET
def health(request):
    """``GET /health/`` (module docstring): 200 when all dependencies answer, else 503."""
    checks = run_checks()
    ok = all(c["status"] == "ok" for c in checks.values())
    body = {"status": "ok" if ok else "down"}
    body.update({name: c["status"] for name, c in checks.items()})
    body["checks"] = checks
    body["token_revocation_checks_skipped"] = revocation_checks_skipped()
    return JsonResponse(body, status=200 if ok else 503)
