"""Ephemeral events: relayed live to a topic's subscribers, never stored, never replayed, no seq.

For signals that lose their meaning after a few seconds (typing indicators). Sent straight to the
topic's channel-layer group, not through the outbox; a client that is not connected misses them,
by design. Frame: ``{"op":"event","topic","type","data","ts","ephemeral":true}``. The one door
for event types declared ``ephemeral = True`` (``realtime.events``); the outbox refuses them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from channels.layers import get_channel_layer

from realtime import publisher
from realtime.events import Event, check
from realtime.jsonutil import dumps
from realtime.streams import group_name


def message(*, topic: str, event: Event, exclude_user_id: Any = None) -> dict[str, Any]:
    """The channel-layer message the gateway's ``rt_ephemeral`` handler expects."""
    frame = dumps({"op": "event", "topic": topic, "type": event.type, "data": event.data,
                   "ts": datetime.now(timezone.utc), "ephemeral": True})
    return {"type": "rt.ephemeral", "topic": topic, "frame": frame,
            "exclude_user_id": str(exclude_user_id) if exclude_user_id is not None else None}


def send(*, topic: str, event: Event, exclude_user_id: Any = None) -> None:
    """Relay an ephemeral ``event`` to ``topic``'s subscribers now (sync; from a command handler
    or a view), skipping the sockets of ``exclude_user_id`` (the sender), on the process's
    publisher loop (``realtime.publisher``). Raises ``ValueError`` for a topic or type that does
    not fit (``realtime.events.check``, as the outbox does) and ``redis.RedisError`` when Redis is
    unreachable."""
    check(topic, event, ephemeral=True)
    frame = message(topic=topic, event=event, exclude_user_id=exclude_user_id)
    publisher.run(lambda: get_channel_layer().group_send(group_name(topic), frame))
