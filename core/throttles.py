"""Rate limits of the accounts endpoints (scopes ``auth`` and ``password_reset`` of
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``), counted in the Redis cache.

Differences from DRF's ``ScopedRateThrottle``:

* the rate is read from the settings on every request, so ``override_settings`` / the pytest
  ``settings`` fixture take effect (DRF binds ``THROTTLE_RATES`` at import time);
* the count is an atomic Redis ``INCR`` per fixed window, so concurrent requests cannot slip past
  the limit the way DRF's read-modify-write history list lets them;
* the client is :func:`core.client_ip.client_ip`: the TCP peer, or the right-most untrusted
  ``X-Forwarded-For`` hop when the peer is one of ``TRUSTED_PROXIES``. DRF's own ``get_ident``
  (``NUM_PROXIES``) is not used: a client-supplied ``X-Forwarded-For`` would give an attacker a
  fresh bucket per request.

Refusals raise DRF's ``Throttled``; the exception handler answers 429
``{"code": "throttled", "detail", "retry_after"}`` with a ``Retry-After`` header.

**Redis down**: the windows are counted in this process instead (:class:`LocalWindows`), so
sign-in and token refresh keep working and stay limited, per process rather than per
deployment (N processes allow up to N times the rate) until Redis answers again. A circuit
breaker (``REDIS_BREAKER_SECONDS``) keeps requests from waiting out the Redis timeout meanwhile;
each switch is logged as a warning.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.breaker import CircuitBreaker
from core.client_ip import client_ip

logger = logging.getLogger(__name__)

#: open after a failed Redis count: counting stays local for REDIS_BREAKER_SECONDS
throttle_breaker = CircuitBreaker("throttles", open_seconds=settings.REDIS_BREAKER_SECONDS)


class LocalWindows:
    """Fixed-window counters in this process, for while Redis is unavailable. ``incr(key,
    expires_at)`` counts one request (``expires_at``: the window's end, seconds on the throttle's
    clock); windows that have ended are dropped when the table grows past ``max_keys``."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._counts: dict[str, list] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, expires_at: float, now: float) -> int:
        with self._lock:
            if len(self._counts) >= self.max_keys:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            entry = self._counts.setdefault(key, [0, expires_at])
            entry[0] += 1
            return entry[0]


local_windows = LocalWindows()


class _WindowThrottle(SimpleRateThrottle):
    """A fixed-window counter of requests per ``scope`` and client identity."""

    cache = cache

    def get_rate(self) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        try:
            return rates[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from None

    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        ident_key = self.get_cache_key(request, view)
        if ident_key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        key = f"{ident_key}:{window}"
        count = None
        if throttle_breaker.allow():
            try:
                count = self._count_in_redis(key)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                if not throttle_breaker.is_open:
                    logger.warning("throttles: Redis unavailable (%s); counting %s in this process",
                                   exc.__class__.__name__, self.scope)
                throttle_breaker.record_failure()
            else:
                throttle_breaker.record_success()
                if count is None:
                    return True
        if count is None:
            count = local_windows.incr(key, self.window_end, self.now)
        return count <= self.num_requests

    def _count_in_redis(self, key: str) -> int | None:
        """One more request in ``key``'s window (Redis ``INCR``); None if the key kept expiring."""
        for _ in range(3):
            self.cache.add(key, 0, timeout=self.duration + 1)
            try:
                return self.cache.incr(key)
            except ValueError:  # expired between add and incr
                continue
        return None

    def wait(self) -> float | None:
        return max(1.0, math.ceil(self.window_end - self.now))


class AuthRateThrottle(_WindowThrottle):
    """Scope ``auth`` (register, token, token refresh), per client address."""

    scope = "auth"


class PasswordResetRateThrottle(_WindowThrottle):
    """Scope ``password_reset``, per client address."""

    scope = "password_reset"


class PasswordResetEmailRateThrottle(_WindowThrottle):
    """Scope ``password_reset``, per target email (hashed), whatever the client address: keeps one
    inbox from being flooded from many addresses. Requests without a usable email are not
    counted here (they fail validation anyway)."""

    scope = "password_reset"
    cache_format = "throttle_%(scope)s_email_%(ident)s"

    def get_cache_key(self, request, view) -> str | None:
        data: Any = request.data
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None
        digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}
