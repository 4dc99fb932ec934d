"""Per-topic sequence numbers and history in Redis Streams.

Keys (prefix ``settings.REALTIME["REDIS_PREFIX"]``, default ``rt``):

- ``rt:seq:<topic>``: the topic's last sequence number (INCR);
- ``rt:hist:<topic>``: a stream whose entry ids are ``<seq>-0`` with fields ``ts`` (ms since the
  epoch, Redis clock), ``type``, ``data`` (JSON text) and ``id`` (the event id);
- ``rt:ev:<event_id>``: the seq an event id was given (24 h), so a re-publish gets no new seq;
- ``rt:oid:<topic>``: the highest outbox row id of the topic appended (the order fence of
  ``realtime.outbox``);
- ``rt:outbox:acks``: ``<outbox id>:<seq>:<ts>`` of rows appended on commit, until
  ``realtime.outbox.mark_delivered`` marks them published in PostgreSQL.

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

# KEYS: seq key, stream key, dedupe key, last outbox id key, outbox acks list
# ARGV: type, data json, event id, min events, min seconds, topic ttl, dedupe ttl,
#       outbox id (0: none), previous pending outbox id of the topic (0: no fence), ack (0/1)
# Returns {new (1) / known (0), seq, ts ms} or {fenced (2), the topic's last appended outbox id, 0}.
_PUBLISH_LUA = """
local oid = tonumber(ARGV[8])
local known = redis.call('GET', KEYS[3])
if known then
  local e = redis.call('XRANGE', KEYS[2], known .. '-0', known .. '-0')
  local ts = 0
  if e[1] then ts = tonumber(e[1][2][2]) end
  if ARGV[10] == '1' then redis.call('RPUSH', KEYS[5], oid .. ':' .. known .. ':' .. ts) end
  return {0, tonumber(known), ts}
end
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[9]) > last then
  return {2, last, 0}
end
local seq = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', KEYS[2], seq .. '-0', 'ts', ms, 'type', ARGV[1], 'data', ARGV[2], 'id', ARGV[3])
redis.call('SET', KEYS[3], seq, 'EX', tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
if oid > last then redis.call('SET', KEYS[4], oid, 'EX', tonumber(ARGV[6])) end
if ARGV[10] == '1' then redis.call('RPUSH', KEYS[5], oid .. ':' .. seq .. ':' .. ms) end
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


def outbox_id_key(topic: str) -> str:
    """The highest outbox row id of ``topic`` appended so far (the order fence, ``realtime.outbox``)."""
    return f"{_prefix()}:oid:{topic}"


def acks_key() -> str:
    """List of ``"<outbox id>:<seq>:<ts ms>"`` for rows appended on commit and not yet marked
    published in PostgreSQL (drained in batches by ``realtime.outbox.mark_delivered``)."""
    return f"{_prefix()}:outbox:acks"


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
    """Result of :func:`append`: ``seq`` given to the event, ``ts_ms`` of the append, ``new``
    (False when the event id had been published before) and ``fenced`` (True when nothing was
    appended because an earlier outbox row of the topic, ``prev_oid``, is not appended yet;
    ``seq`` is 0 then and ``last_oid`` the highest outbox id of the topic appended so far)."""

    seq: int
    ts_ms: int
    new: bool
    fenced: bool = False
    last_oid: int = 0


@dataclass(frozen=True)
class Outgoing:
    """One event to append: its topic, type, data as JSON text and event id; for an outbox row
    also its id ``oid``, ``prev_oid`` (the topic's previous pending row when it was inserted:
    the append is refused, ``fenced``, while that row is not appended) and ``ack`` (push
    ``"<oid>:<seq>:<ts>"`` onto :func:`acks_key` for the batched marking)."""

    topic: str
    type: str
    data_json: str
    event_id: str
    oid: int = 0
    prev_oid: int = 0
    ack: bool = False


_script_cache: dict[int, object] = {}


def _script():
    client = sync_client()
    script = _script_cache.get(id(client))
    if script is None:
        script = _script_cache[id(client)] = client.register_script(_PUBLISH_LUA)
    return client, script


def _call(script, ev: Outgoing, *, client=None):
    cfg = settings.REALTIME
    return script(
        keys=[seq_key(ev.topic), stream_key(ev.topic), dedupe_key(ev.event_id), outbox_id_key(ev.topic), acks_key()],
        args=[ev.type, ev.data_json, ev.event_id, cfg["HISTORY_MIN_EVENTS"], cfg["HISTORY_MIN_SECONDS"],
              TOPIC_TTL_SECONDS, DEDUPE_TTL_SECONDS, ev.oid, ev.prev_oid, 1 if ev.ack else 0],
        client=client,
    )


def _result(raw) -> Appended:
    status, seq, ts = raw
    if int(status) == 2:
        return Appended(seq=0, ts_ms=0, new=False, fenced=True, last_oid=int(seq))
    return Appended(seq=int(seq), ts_ms=int(ts), new=int(status) == 1)


def append(*, topic: str, type: str, data_json: str, event_id: str) -> Appended:
    """Atomically give the event the topic's next seq and append it to the history.

    Idempotent per ``event_id``: a second call returns the first seq with ``new=False``.
    Raises ``redis.RedisError`` when Redis is unreachable.
    """
    client, script = _script()
    return _result(_call(script, Outgoing(topic, type, data_json, event_id), client=client))


def append_many(events: list[tuple[str, str, str, str] | Outgoing]) -> list[Appended]:
    """:func:`append` for many events (``(topic, type, data_json, event_id)`` or
    :class:`Outgoing`) in one round trip, in order (one pipeline; each append stays atomic on
    its own). Raises ``redis.RedisError``."""
    if not events:
        return []
    client, script = _script()
    pipe = client.pipeline(transaction=False)
    for ev in events:
        _call(script, ev if isinstance(ev, Outgoing) else Outgoing(*ev), client=pipe)
    return [_result(raw) for raw in pipe.execute()]


def take_acks(limit: int) -> list[tuple[int, int, int]]:
    """Remove and return up to ``limit`` entries of :func:`acks_key`, oldest first, as
    ``(outbox id, seq, ts ms)``. Raises ``redis.RedisError``."""
    pipe = sync_client().pipeline(transaction=True)
    pipe.lrange(acks_key(), 0, limit - 1)
    pipe.ltrim(acks_key(), limit, -1)
    raw, _ = pipe.execute()
    out = []
    for entry in raw:
        oid, seq, ts = entry.split(b":")
        out.append((int(oid), int(seq), int(ts)))
    return out


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
    # no outbox row (oid 0): never fenced, nothing to acknowledge
    return _result(await _call(script, Outgoing(topic, type, data_json, event_id), client=client))
