"""Connection options of every Redis client the project opens, so that an outage is bounded.

Without them a stopped Redis cost each call redis-py's default retry schedule (up to ~14 s of
back-off) and a frozen one (``SIGSTOP``) blocked every caller until it thawed: ``/health/`` said
``redis: ok`` after 9 s and authenticated requests stalled as long (issue 14, rows 2–4).

Two kinds of client:

- **request/response** (:func:`client_options`): Django's cache, the realtime history and
  presence pool, rate limits, the test payment gateway. Connect timeout, *read* timeout,
  TCP keep-alive, a ``PING`` before a command on a connection idle for
  ``health_check_interval`` seconds, and one immediate retry on a *connection* error only (a
  pooled socket that a Redis restart closed reconnects at once; a timeout is never retried, so a
  frozen Redis costs one ``socket_timeout``).
- **subscriber** (:func:`subscriber_options`): the channel layer. Its pool also serves the
  PubSub reader, which legitimately waits for messages for minutes; a read timeout there drops
  idle WebSockets (channels_redis#422, the reason ``requirements.txt`` pins redis-py 7). It
  gets the connect timeout, keep-alive and health checks, and no read timeout.

The numbers come from settings (``REDIS_CONNECT_TIMEOUT``, ``REDIS_SOCKET_TIMEOUT``,
``REDIS_HEALTH_CHECK_INTERVAL``); this module imports no Django so that settings can call it.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio.retry as async_retry
from redis.backoff import NoBackoff
from redis.retry import Retry


def _retry(asyncio: bool):
    errors = (redis.exceptions.ConnectionError,)
    if asyncio:
        return async_retry.Retry(NoBackoff(), 1, supported_errors=errors)
    return Retry(NoBackoff(), 1, supported_errors=errors)


def client_options(*, connect_timeout: float, socket_timeout: float, health_check_interval: int,
                   asyncio: bool = False) -> dict[str, Any]:
    """Keyword arguments for a request/response Redis client or pool (``redis.Redis.from_url``,
    ``ConnectionPool.from_url``, Django's ``CACHES[...]["OPTIONS"]``); seconds. ``asyncio``
    selects redis-py's asyncio ``Retry`` class (the sync and asyncio ones are not
    interchangeable)."""
    return {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": socket_timeout,
        "socket_keepalive": True,
        "health_check_interval": health_check_interval,
        "retry": _retry(asyncio),
    }


def subscriber_options(*, connect_timeout: float, health_check_interval: int) -> dict[str, Any]:
    """Keyword arguments for the channel layer's pool: connect timeout, TCP keep-alive and health
    checks, and **no read timeout** (see the module docstring); seconds."""
    return {
        "socket_connect_timeout": connect_timeout,
        "socket_keepalive": True,
        "health_check_interval": health_check_interval,
    }
