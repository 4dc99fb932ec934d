"""Who has a socket subscribed to a topic right now (opt-in per topic: ``Topic.track_presence``).

Each subscribed connection keeps a member ``<user_id>|<channel_name>`` in the sorted set
``rt:presence:<topic>`` scored with its expiry (Unix seconds). The gateway adds it on subscribe,
refreshes it every ``HEARTBEAT_SECONDS`` and removes it on unsubscribe or disconnect; a crashed
process's members simply expire after ``TTL_SECONDS``. Apps ask :func:`present_user_ids`
(e.g. chat: notify only participants with no socket on the conversation).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings

from realtime.streams import sync_client

HEARTBEAT_SECONDS = 30
TTL_SECONDS = 75


def presence_key(topic: str) -> str:
    return f"{settings.REALTIME['REDIS_PREFIX']}:presence:{topic}"


def _member(user_id, channel_name: str) -> str:
    return f"{user_id}|{channel_name}"


async def add(client, topics: Iterable[str], user_id, channel_name: str) -> None:
    """Mark (or refresh) this connection as present on ``topics`` (async Redis ``client``)."""
    expires = time.time() + TTL_SECONDS
    pipe = client.pipeline(transaction=False)
    for topic in topics:
        key = presence_key(topic)
        pipe.zadd(key, {_member(user_id, channel_name): expires})
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.expire(key, TTL_SECONDS * 2)
    await pipe.execute()


async def remove(client, topics: Iterable[str], user_id, channel_name: str) -> None:
    """Remove this connection from ``topics``."""
    pipe = client.pipeline(transaction=False)
    for topic in topics:
        pipe.zrem(presence_key(topic), _member(user_id, channel_name))
    await pipe.execute()


def present_user_ids(topic: str) -> set[str]:
    """Ids (as strings) of users with at least one live socket subscribed to ``topic``."""
    members = sync_client().zrangebyscore(presence_key(topic), time.time(), "+inf")
    return {m.decode().split("|", 1)[0] for m in members}
