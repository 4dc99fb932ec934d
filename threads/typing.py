"""Typing indicators: relayed to the thread's topic through ``realtime.ephemeral`` (never stored
or replayed), ``start`` expiring on clients unless repeated."""

from __future__ import annotations

from typing import Any

from threads.inputs import invalid

#: how long a ``start`` shows on clients unless repeated
TYPING_EXPIRES_MS = 5000
TYPING_STATES = ("start", "stop")


def typing_expiry(state: Any) -> int:
    """``expires_in_ms`` of a typing signal: 5000 for ``start``, 0 for ``stop``. Raises
    ``invalid`` (``fields.state``) for anything else."""
    if state not in TYPING_STATES:
        raise invalid("state", "Expected 'start' or 'stop'.")
    return TYPING_EXPIRES_MS if state == "start" else 0
