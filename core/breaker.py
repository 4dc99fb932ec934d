"""A small circuit breaker: after a dependency failed, skip it for a while instead of waiting out
its timeout on every call.

Used where a request must not stall on an outage: the access-token denylist lookup
(``core.tokens``) costs one ``REDIS_SOCKET_TIMEOUT`` when Redis is frozen, then nothing for
``open_seconds``; after that one call goes through again (half-open) and closes the breaker if it
succeeds. State is per process and lock-free (two floats; a race costs at most one extra call).
"""

from __future__ import annotations

import time


class CircuitBreaker:
    """``allow()`` is False for ``open_seconds`` (seconds, monotonic clock) after
    ``record_failure()``; ``record_success()`` closes it at once. ``name`` is for logs."""

    __slots__ = ("name", "open_seconds", "_open_until", "failures")

    def __init__(self, name: str, *, open_seconds: float) -> None:
        self.name = name
        self.open_seconds = open_seconds
        self._open_until = 0.0
        #: failures recorded since the process started (a counter for health output and tests)
        self.failures = 0

    def allow(self) -> bool:
        """True when a call may go to the dependency (closed, or half-open after the pause)."""
        return time.monotonic() >= self._open_until

    def record_failure(self) -> None:
        self.failures += 1
        self._open_until = time.monotonic() + self.open_seconds

    def record_success(self) -> None:
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return not self.allow()
