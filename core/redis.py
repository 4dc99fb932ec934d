"""The process-wide synchronous Redis client on ``REDIS_URL``.

One client (and connection pool) per process, shared by the realtime streams and presence, the
health check, chat's rate limits and the test payment gateway's state.
"""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def sync_client() -> redis.Redis:
    """A process-wide synchronous Redis client on ``REDIS_URL``, with the connect and read
    timeouts of ``settings.REDIS_CLIENT_OPTIONS`` (``core.redisconf``): a call raises
    ``redis.ConnectionError`` / ``redis.TimeoutError`` instead of waiting out an outage."""
    return redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_CLIENT_OPTIONS)
