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
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.client_ip import client_ip


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
        for _ in range(3):
            self.cache.add(key, 0, timeout=self.duration + 1)
            try:
                count = self.cache.incr(key)
                break
            except ValueError:  # expired between add and incr
                continue
        else:
            return True
        return count <= self.num_requests

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
