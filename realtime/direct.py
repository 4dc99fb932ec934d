"""Publishing a numbered event straight to its topic, without the outbox, from an event loop.

The outbox (``realtime.outbox.publish``) exists so that an event is sent only when the
database change it describes commits. A fact whose source of truth is Redis has no database
transaction to wait for: a courier's position is accepted by a Redis script
(``delivery.tracking``) and must reach its watchers within milliseconds. :func:`publish` gives
such an event the topic's next ``seq`` and appends it to the topic's history with the same
script the relay uses (``realtime.streams``: idempotent per event id, so a retry never gets a
second seq), then sends the frame to the topic's channel-layer group. Subscribers cannot tell
the two doors apart: same frame, same seq space, same replay. The checks of the door
(``realtime.events.check``) apply.

:func:`async_client` is the asyncio Redis client of the running event loop (one bounded pool
per loop, as ``realtime.streams.AsyncHistory``), for code on Daphne's loop that must not block it.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aredis
from channels.layers import get_channel_layer
from django.conf import settings

from realtime import streams
from realtime.events import Event, check
from realtime.jsonutil import dumps

_clients: dict[int, aredis.Redis] = {}


def async_client() -> aredis.Redis:
    """The asyncio Redis client of the running event loop (pool of
    ``REALTIME["REDIS_POOL_SIZE"]`` connections, waiting up to ``REDIS_POOL_TIMEOUT`` s for one;
    timeouts of ``settings.REDIS_ASYNC_CLIENT_OPTIONS``). Raises ``RuntimeError`` outside a loop."""
    loop = asyncio.get_running_loop()
    client = _clients.get(id(loop))
    if client is None:
        if len(_clients) > 16:  # loops of finished tests; Daphne has one
            _clients.clear()
        cfg = settings.REALTIME
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=cfg["REDIS_POOL_SIZE"], timeout=cfg["REDIS_POOL_TIMEOUT"],
            **settings.REDIS_ASYNC_CLIENT_OPTIONS,
        )
        client = _clients[id(loop)] = aredis.Redis(connection_pool=pool)
    return client


async def publish(*, topic: str, event: Event, event_id: str) -> int:
    """Append ``event`` to ``topic``'s history and send it to the topic's subscribers now.

    ``event_id`` (text, unique per fact) makes a repeat harmless: it gets the first seq back and
    is not sent again. Returns the event's seq. Raises ``ValueError`` for a topic or type that
    does not fit (``realtime.events.check``; ephemeral types go through ``realtime.ephemeral``),
    ``redis.RedisError`` when Redis is unreachable (nothing was appended, or the append
    happened and the subscribers get the event on their next resume)."""
    check(topic, event)
    data_json = dumps(event.data)
    appended = await streams.append_async(async_client(), topic=topic, type=event.type, data_json=data_json,
                                          event_id=event_id)
    if appended.new:
        frame = streams.event_frame(topic=topic, seq=appended.seq, type=event.type, data_json=data_json,
                                    ts_ms=appended.ts_ms)
        await get_channel_layer().group_send(
            streams.group_name(topic), {"type": "rt.event", "topic": topic, "seq": appended.seq, "frame": frame})
    return appended.seq
