"""Per-topic sequence numbers and history in Redis Streams.

Keys (prefix ``settings.REALTIME["REDIS_PREFIX"]``, default ``rt``):

- ``rt:seq:<topic>``: the topic's last sequence number (INCR);
- ``rt:hist:<topic>``: a stream whose entry ids are ``<seq>-0`` with fields ``ts`` (ms since the
  epoch, Redis clock), ``type``, ``data`` (JSON text) and ``id`` (the event id);
- ``rt:ev:<event_id>``: the seq an event id was given (24 h), so a re-publish gets no new seq.

History keeps at least ``HISTORY_MIN_EVENTS`` (300) events *and* at least
``HISTORY_MIN_SECONDS`` (120 s) of events per topic, whichever is more; trimming is lazy (every
50th event) so it costs O(1) amortised. Idle topics expire after ``TOPIC_TTL_SECONDS``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

import redis.asyncio as aredis
from django.conf import settings

from core.redis import sync_client
from realtime.jsonutil import dumps

TOPIC_TTL_SECONDS = 7 * 24 * 3600
DEDUPE_TTL_SECONDS = 24 * 3600
TRIM_EVERY = 50
TRIM_SCAN_MAX = 2000

# KEYS: seq key, stream key, dedupe key
# ARGV: type, data json, event id, min events, min seconds, topic ttl, dedupe ttl
_PUBLISH_LUA = """
local known = redis.call('GET', KEYS[3])
if known then
  local e = redis.call('XRANGE', KEYS[2], known .. '-0', known .. '-0')
  local ts = 0
  if e[1] then ts = tonumber(e[1][2][2]) end
  return {0, tonumber(known), ts}
end
local seq = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', KEYS[2], seq .. '-0', 'ts', ms, 'type', ARGV[1], 'data', ARGV[2], 'id', ARGV[3])
redis.call('SET', KEYS[3], seq, 'EX', tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
if seq %% %(trim_every)d == 0 then
  local excess = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[4])
  if excess > 0 then
    if excess > %(scan_max)d then excess = %(scan_max)d end
    local cutoff = ms - tonumber(ARGV[5]) * 1000
    local entries = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
    local last = nil
    for _, e in ipairs(entries) do
      if tonumber(e[2][2]) < cutoff then last = e[1] else break end
    end
    if last then
      local s = tonumber(string.match(last, '^(%%d+)'))
      redis.call('XTRIM', KEYS[2], 'MINID', (s + 1) .. '-0')
    end
  end
end
return {1, seq, ms}
""" % {"trim_every": TRIM_EVERY, "scan_max": TRIM_SCAN_MAX}


def _prefix() -> str:
    return settings.REALTIME["REDIS_PREFIX"]


def seq_key(topic: str) -> str:
    return f"{_prefix()}:seq:{topic}"


def stream_key(topic: str) -> str:
    return f"{_prefix()}:hist:{topic}"


def dedupe_key(event_id: str) -> str:
    return f"{_prefix()}:ev:{event_id}"


def group_name(topic: str) -> str:
    """Channel-layer group of a topic (``cart:abc`` → ``rt.cart.abc``)."""
    return "rt." + topic.replace(":", ".")


def ms_to_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_frame(*, topic: str, seq: int, type: str, data_json: str, ts_ms: int) -> str:
    """The ``event`` frame a client receives, as JSON text (built once, sent to every subscriber)."""
    return (
        '{"op":"event","topic":%s,"seq":%d,"type":%s,"data":%s,"ts":"%s"}'
        % (dumps(topic), seq, dumps(type), data_json, ms_to_iso(ts_ms))
    )


@dataclass(frozen=True)
class Appended:
    """Result of :func:`append`: ``seq`` given to the event, ``ts_ms`` of the append, and
    ``new`` (False when the event id had been published before)."""

    seq: int
    ts_ms: int
    new: bool


_script_cache: dict[int, object] = {}


def _script():
    client = sync_client()
    script = _script_cache.get(id(client))
    if script is None:
        script = _script_cache[id(client)] = client.register_script(_PUBLISH_LUA)
    return client, script


def _call(script, *, topic: str, type: str, data_json: str, event_id: str, client=None):
    cfg = settings.REALTIME
    return script(
        keys=[seq_key(topic), stream_key(topic), dedupe_key(event_id)],
        args=[type, data_json, event_id, cfg["HISTORY_MIN_EVENTS"], cfg["HISTORY_MIN_SECONDS"],
              TOPIC_TTL_SECONDS, DEDUPE_TTL_SECONDS],
        client=client,
    )


def append(*, topic: str, type: str, data_json: str, event_id: str) -> Appended:
    """Atomically give the event the topic's next seq and append it to the history.

    Idempotent per ``event_id``: a second call returns the first seq with ``new=False``.
    Raises ``redis.RedisError`` when Redis is unreachable.
    """
    client, script = _script()
    new, seq, ts = _call(script, topic=topic, type=type, data_json=data_json, event_id=event_id, client=client)
    return Appended(seq=int(seq), ts_ms=int(ts), new=bool(new))


def append_many(events: list[tuple[str, str, str, str]]) -> list[Appended]:
    """:func:`append` for many ``(topic, type, data_json, event_id)`` in one round trip, in order
    (one pipeline; each append stays atomic on its own). Raises ``redis.RedisError``."""
    if not events:
        return []
    client, script = _script()
    pipe = client.pipeline(transaction=False)
    for topic, type_, data_json, event_id in events:
        _call(script, topic=topic, type=type_, data_json=data_json, event_id=event_id, client=pipe)
    return [Appended(seq=int(seq), ts_ms=int(ts), new=bool(new)) for new, seq, ts in pipe.execute()]


class AsyncHistory:
    """Async reads of topic history for the gateway (one Redis client per event loop).

    The client's pool is bounded (``REALTIME["REDIS_POOL_SIZE"]``, default 32): an unbounded
    pool opened one Redis connection per socket during a subscribe burst and kept it, so 5,000
    sockets held ~5,000 Redis connections (Redis' default ``maxclients`` is 10,000) and their
    buffers. Callers wait for a free connection instead; raises ``redis.ConnectionError`` after
    ``REDIS_POOL_TIMEOUT`` seconds without one. Connections have the connect and read timeouts of
    ``settings.REDIS_ASYNC_CLIENT_OPTIONS`` (``core.redisconf``).
    """

    def __init__(self) -> None:
        self._clients: dict[int, aredis.Redis] = {}

    @property
    def client(self) -> aredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            if len(self._clients) > 16:  # loops of finished tests; Daphne has one
                self._clients.clear()
            cfg = settings.REALTIME
            pool = aredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, max_connections=cfg["REDIS_POOL_SIZE"], timeout=cfg["REDIS_POOL_TIMEOUT"],
                **settings.REDIS_ASYNC_CLIENT_OPTIONS,
            )
            client = self._clients[id(loop)] = aredis.Redis(connection_pool=pool)
        return client

    async def last_seq(self, topic: str) -> int:
        """The topic's last seq (0 when it never had an event or its history expired)."""
        raw = await self.client.get(seq_key(topic))
        return int(raw) if raw else 0

    async def since(self, topic: str, after: int, upto: int | None = None, limit: int = 10000) -> tuple[list[str], int, bool]:
        """Frames of events with ``after < seq <= upto`` (to the end when ``upto`` is None).

        Returns (frames, last_seq, complete): ``complete`` is False when the history no longer
        reaches back to ``after + 1`` or more than ``limit`` events are missing.
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.get(seq_key(topic))
        pipe.xrange(stream_key(topic), f"{after + 1}-0", f"{upto}-0" if upto else "+", count=limit + 1)
        raw_last, entries = await pipe.execute()
        last = int(raw_last) if raw_last else 0
        target = upto if upto is not None else last
        if after >= target:
            return [], last, after <= last
        if not entries or len(entries) > limit:
            return [], last, False
        first_seq = int(entries[0][0].split(b"-")[0])
        if first_seq != after + 1:
            return [], last, False
        frames = []
        for entry_id, fields in entries:
            seq = int(entry_id.split(b"-")[0])
            frames.append(
                event_frame(
                    topic=topic, seq=seq, type=fields[b"type"].decode(), data_json=fields[b"data"].decode(),
                    ts_ms=int(fields[b"ts"]),
                )
            )
        return frames, last, True


_async_scripts: dict[int, object] = {}


async def append_async(client: aredis.Redis, *, topic: str, type: str, data_json: str, event_id: str) -> Appended:
    """:func:`append` on an asyncio client (the same script: atomic, idempotent per
    ``event_id``), for publishers running on an event loop (``realtime.direct``). Raises
    ``redis.RedisError``."""
    script = _async_scripts.get(id(client))
    if script is None:
        if len(_async_scripts) > 16:  # clients of finished event loops (tests); Daphne has one
            _async_scripts.clear()
        script = _async_scripts[id(client)] = client.register_script(_PUBLISH_LUA)
    new, seq, ts = await _call(script, topic=topic, type=type, data_json=data_json, event_id=event_id, client=client)
    return Appended(seq=int(seq), ts_ms=int(ts), new=bool(new))
