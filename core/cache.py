"""Django's Redis cache with one connection pool per process.

Django's ``RedisCache`` keeps its connection pool on the cache object, and under ASGI
``django.core.cache.caches`` hands each asyncio task (every WebSocket consumer, every HTTP
request) its own cache object (``asgiref.local.Local``, not thread-critical). The gateway checks
the token denylist in the cache on every ``auth``, so each socket opened and kept its own Redis
connection: 5,000 sockets held 5,000 Redis connections (Redis' default ``maxclients`` is
10,000; at 10,000 sockets auth failed with ``internal_error``). Measured with
``bench/gateway.py`` (memory scenario, ``redis clients`` column).

:class:`SharedPoolRedisCache` is the same backend, same options and behaviour, whose client
takes its pool from a process-wide table keyed by server URL and pool options. ``redis-py``'s
``ConnectionPool`` is thread-safe and resets itself after ``fork`` (it checks the pid).
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_POOLS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    """``RedisCacheClient`` whose connection pools are shared by every instance in the process."""

    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        pool = self._pools.get(index)  # this instance's memo of the shared pools
        if pool is None:
            key = (self._servers[index], repr(sorted(self._pool_options.items(), key=lambda kv: kv[0])))
            with _LOCK:
                pool = _POOLS.get(key)
                if pool is None:
                    pool = _POOLS[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            self._pools[index] = pool
        return pool


class SharedPoolRedisCache(RedisCache):
    """``CACHES`` backend ``core.cache.SharedPoolRedisCache``: Django's ``RedisCache`` with a
    per-process connection pool (see the module docstring for why)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
