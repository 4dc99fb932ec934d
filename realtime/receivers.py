"""What the gateway does when other apps' signals fire.

``core.signals.user_sessions_ended(user_id, reason)``: close every socket of the user with 4401
and ``reason`` after commit (``realtime.outbox.disconnect_user``), so a deactivated, logged-out
or re-passworded user's phones stop receiving events at once.
"""

from __future__ import annotations

from typing import Any

from core.signals import user_sessions_ended
from realtime.outbox import disconnect_user


def close_sockets_of_ended_sessions(sender: Any = None, *, user_id: Any, reason: str, **kwargs: Any) -> None:
    """Receiver of ``user_sessions_ended``: ``disconnect_user(user_id, code=4401, reason=reason)``."""
    disconnect_user(user_id, code=4401, reason=reason)


def connect() -> None:
    """Connect the receivers (``RealtimeConfig.ready``)."""
    user_sessions_ended.connect(close_sockets_of_ended_sessions, dispatch_uid="realtime.close_ended_sessions")
