"""Courier positions, Redis first: the filters, the last position, the throttle and the ETA's
inputs live in Redis; PostgreSQL receives the points in batches from a crash-proof buffer.

One Lua script (:data:`INGEST_LUA`) takes a point that passed the range and clock checks
(``delivery.services.clean_point``) and, atomically, per delivery:

1. checks who may send it, from the delivery's *access* hash (carrier, status, stale, loaded
   from the database by :func:`load_access`, dropped by :func:`forget` after every status or
   staleness change commits; a generation counter keeps a slow loader from writing back what a
   change just dropped; ``ACCESS_TTL_SECONDS`` bounds any miss);
2. drops a duplicate (a ``ts`` seen among the delivery's last ``DELIVERY_DEDUPE_WINDOW`` points;
   the database's unique key drops an older repeat when it is written);
3. rejects a physically impossible jump: implied speed from the last kept point above
   ``DELIVERY_MAX_SPEED_MPS`` (stored, ``kept`` false, ``reject_reason`` ``jump``);
4. keeps the newest kept point as the last position and the last five reported speeds (the
   ETA's inputs), marks an inaccurate point (``DELIVERY_MAX_ACCURACY_M``) not broadcastable;
5. throttles: the newest broadcastable point is sent now when ``DELIVERY_BROADCAST_INTERVAL_S``
   passed since the last send, else it waits as the delivery's *pending* point and the delivery
   joins the flush set (scored by when its window opens): no Celery task per point;
6. appends the point to the stream ``<prefix>:points`` (the buffer: Redis Stream, consumer
   group ``persist``) before the command is acknowledged.

Keys (prefix ``DELIVERY_REDIS_PREFIX``, default ``dl``): ``dl:<id>:acc`` (hash, access),
``dl:<id>:gen`` (its generation), ``dl:<id>:pos`` (hash: last kept point, throttle, pending,
drop-off), ``dl:<id>:seen`` (sorted set of recent ``ts`` in µs), ``dl:<id>:spd`` (list, last
speeds), ``dl:flush`` (sorted set of deliveries with a pending point), ``dl:points`` (the
stream). Per-delivery keys expire ``STATE_TTL_SECONDS`` after the last point.

Persistence (:func:`persist_pending` and its async driver :func:`run_worker`): every process
that serves ``location`` commands runs one worker on its event loop; each round (at least once
a second, ``DELIVERY_PERSIST_INTERVAL_S``) it reads a batch with ``XREADGROUP`` (its own
unacknowledged entries first, then new ones), writes it with one multi-row
``INSERT ... ON CONFLICT DO NOTHING`` on the unique key (delivery, ts) and one ``UPDATE`` of the
deliveries' ``last_*`` columns, commits, then ``XACK`` + ``XDEL``. A process killed with -9
leaves its read but unacknowledged entries pending under its consumer name; any other worker
(the restarted Daphne, or the Celery tick's backstop) takes them over with ``XAUTOCLAIM`` once
they have been idle ``DELIVERY_PERSIST_CLAIM_IDLE_S`` (10 s). A redelivered entry hits the
unique key and is not stored twice: every acknowledged point is stored exactly once as long as
Redis keeps its data (run it with ``appendonly yes``, ``appendfsync everysec`` or stricter).

Status changes stay in the database's transactions: the script only *says* that a point came
within ``DELIVERY_ARRIVING_RADIUS_M`` of the drop-off while ``picked_up``/``en_route``, or that
the courier was stale; ``delivery.services`` then moves the delivery under its row lock (and
re-checks there), publishing through the outbox.

Fan-out: a point sent now or flushed later becomes ``delivery.location`` through
``realtime.direct.publish`` (numbered, in the topic's history, no outbox row) when on the event
loop; synchronous callers (the REST upload, the Celery tick) publish through the outbox inside
their transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, transaction

from core.redis import sync_client
from delivery import geo
from delivery.models import Delivery, LocationPoint
from realtime import direct

logger = logging.getLogger(__name__)

ACCESS_TTL_SECONDS = 300
#: the flush loop's shortest sleep (seconds): at most 100 flush rounds a second however many
#: windows open
FLUSH_MIN_SLEEP_S = 0.01
STATE_TTL_SECONDS = 2 * 24 * 3600
GROUP = "persist"
ACTIVE = ("assigned", "picked_up", "en_route", "arriving")
#: the event ids of ``delivery.location`` are uuid5(this, "<delivery id>:<ts µs>"): one seq per point
EVENT_NAMESPACE = uuid.UUID("6f7c1d2e-4d0b-4c55-9d61-8a0f3c2b7e11")

_HAVERSINE = """
local function hav(la1, lo1, la2, lo2)
  local r1, r2 = math.rad(la1), math.rad(la2)
  local dla, dlo = r2 - r1, math.rad(lo2 - lo1)
  local h = math.sin(dla / 2) ^ 2 + math.cos(r1) * math.cos(r2) * math.sin(dlo / 2) ^ 2
  return 2 * %r * math.asin(math.min(1, math.sqrt(h)))
end
""" % geo.EARTH_RADIUS_M

# KEYS: acc, pos, seen, spd, stream, flush
# ARGV: 1 delivery id, 2 user id, 3 ts µs, 4 lat, 5 lon, 6 accuracy, 7 speed ('' = none),
#       8 heading (''), 9 now ms, 10 max speed, 11 max accuracy, 12 interval ms, 13 radius m,
#       14 dedupe window, 15 state ttl s, 16 ts (ISO text, stored as sent), 17 '1' = hold (a
#       point of a batch with newer ones behind it: never sent now, the newest of the batch is)
INGEST_LUA = _HAVERSINE + """
local a = redis.call('HMGET', KEYS[1], 'carrier', 'active', 'status', 'stale')
if not a[1] then return {'miss'} end
if a[1] ~= ARGV[2] then return {'not_assigned'} end
if a[2] ~= '1' then return {'ended'} end
local ts = tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[3], ARGV[3]) then return {'dropped'} end
redis.call('ZADD', KEYS[3], ts, ARGV[3])
local window = tonumber(ARGV[14])
if redis.call('ZCARD', KEYS[3]) > window then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(window + 1)) end
local p = redis.call('HMGET', KEYS[2], 'lts', 'lat', 'lon', 'bat', 'bts', 'dlat', 'dlon')
local lat, lon = tonumber(ARGV[4]), tonumber(ARGV[5])
local kept, reason = 1, ''
if p[1] then
  local dt = math.abs(ts - tonumber(p[1])) / 1e6
  if dt > 0 and hav(tonumber(p[2]), tonumber(p[3]), lat, lon) / dt > tonumber(ARGV[10]) then
    kept, reason = 0, 'jump'
  end
end
local bcast = 0
if kept == 1 and tonumber(ARGV[6]) <= tonumber(ARGV[11]) then bcast = 1 end
local newest = 0
if kept == 1 and ((not p[1]) or ts > tonumber(p[1])) then newest = 1 end
local now = tonumber(ARGV[9])
local id = redis.call('XADD', KEYS[5], '*', 'd', ARGV[1], 'ts', ARGV[16], 'lat', ARGV[4], 'lon', ARGV[5],
  'acc', ARGV[6], 'spd', ARGV[7], 'hdg', ARGV[8], 'k', kept, 'b', bcast, 'r', reason, 'rcv', ARGV[9])
local send, near, live = 'none', 0, 0
if newest == 1 then
  redis.call('HSET', KEYS[2], 'lts', ARGV[3], 'lat', ARGV[4], 'lon', ARGV[5], 'spd', ARGV[7], 'hdg', ARGV[8],
    'tsi', ARGV[16], 'rcv', ARGV[9])
  if ARGV[7] ~= '' then
    redis.call('LPUSH', KEYS[4], ARGV[7])
    redis.call('LTRIM', KEYS[4], 0, 4)
  end
  if bcast == 1 then
    local bat = tonumber(p[4])
    local interval = tonumber(ARGV[12])
    if ARGV[17] ~= '1' and ((not bat) or now - bat >= interval) then
      redis.call('HSET', KEYS[2], 'bat', now, 'bts', ARGV[3])
      redis.call('HDEL', KEYS[2], 'pend')
      send = 'now'
    else
      redis.call('HSET', KEYS[2], 'pend', cjson.encode({us = ARGV[3], ts = ARGV[16], lat = ARGV[4], lon = ARGV[5],
        spd = ARGV[7], hdg = ARGV[8]}))
      local due = now
      if bat then due = math.max(now, bat + interval) end
      redis.call('ZADD', KEYS[6], 'NX', due, ARGV[1])
      send = 'deferred'
    end
  end
  if p[6] and (a[3] == 'picked_up' or a[3] == 'en_route')
     and hav(lat, lon, tonumber(p[6]), tonumber(p[7])) <= tonumber(ARGV[13]) then near = 1 end
  if a[4] == '1' then
    live = 1
    redis.call('HSET', KEYS[1], 'stale', '0')  -- asked once; the database's flag follows in a transaction
  end
end
local ttl = tonumber(ARGV[15])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('EXPIRE', KEYS[4], ttl)
local out = {'ok', kept, bcast, send, near, live, p[6] or '', p[7] or '', id}
for _, s in ipairs(redis.call('LRANGE', KEYS[4], 0, 4)) do table.insert(out, s) end
return out
"""

# KEYS: flush set; ARGV: 1 now ms, 2 interval ms, 3 limit, 4 key prefix ("dl:"), 5 due at most (ms),
# 6 one delivery id (optional). Returns {[[delivery id, pending json, dlat, dlon, speed...], ...],
# when the earliest window still pending opens (ms; false: none)}: the points to send now, and
# when the flush loop should look again. The throttle keeps a grid: a point flushed late is recorded as sent when
# its window opened, so the broadcasts of a courier reporting every second come every interval,
# not every interval plus the flush's delay.
FLUSH_LUA = """
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids
if ARGV[6] then ids = {ARGV[6]} else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[5]), 'LIMIT', 0, tonumber(ARGV[3]))
end
local out = {}
for _, did in ipairs(ids) do
  local pk = ARGV[4] .. did .. ':pos'
  local p = redis.call('HMGET', pk, 'pend', 'bat', 'bts', 'dlat', 'dlon')
  local bat = tonumber(p[2])
  if (not bat) or now - bat >= interval then
    redis.call('ZREM', KEYS[1], did)
    if p[1] then
      redis.call('HDEL', pk, 'pend')
      local pend = cjson.decode(p[1])
      if (not p[3]) or tonumber(pend.us) > tonumber(p[3]) then
        -- on the broadcast grid: the window that opened at bat + interval counts as this send's
        -- time, so a late flush does not push every later window back (unless it missed a whole
        -- interval: then the grid starts again now)
        local at = now
        if bat and now - (bat + interval) < interval then at = bat + interval end
        redis.call('HSET', pk, 'bat', at, 'bts', pend.us)
        local row = {did, p[1], p[4] or '', p[5] or ''}
        for _, s in ipairs(redis.call('LRANGE', ARGV[4] .. did .. ':spd', 0, 4)) do table.insert(row, s) end
        table.insert(out, row)
      end
    end
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {out, nxt[2] or false}
"""

# KEYS: acc, gen, pos; ARGV: 1 generation seen before the read ('' = none), 2 carrier, 3 active,
# 4 status, 5 stale, 6 acc ttl, 7 dlat, 8 dlon, 9 state ttl, then the last kept point (if any):
# 10 ts µs, 11 lat, 12 lon, 13 speed, 14 heading, 15 ts ISO, 16 received ms
LOAD_LUA = """
local g = redis.call('GET', KEYS[2]) or ''
if g ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'carrier', ARGV[2], 'active', ARGV[3], 'status', ARGV[4], 'stale', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('HSET', KEYS[3], 'dlat', ARGV[7], 'dlon', ARGV[8])
if ARGV[10] and redis.call('HEXISTS', KEYS[3], 'lts') == 0 then
  redis.call('HSET', KEYS[3], 'lts', ARGV[10], 'lat', ARGV[11], 'lon', ARGV[12], 'spd', ARGV[13], 'hdg', ARGV[14],
    'tsi', ARGV[15], 'rcv', ARGV[16])
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[9]))
return 1
"""


def cfg(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def prefix() -> str:
    return getattr(settings, "DELIVERY_REDIS_PREFIX", "dl")


def key(delivery_id: Any, part: str) -> str:
    """``<prefix>:<delivery id>:<part>`` (``acc``, ``gen``, ``pos``, ``seen``, ``spd``)."""
    return f"{prefix()}:{delivery_id}:{part}"


def stream_key() -> str:
    return f"{prefix()}:points"


def flush_key() -> str:
    return f"{prefix()}:flush"


def to_us(ts: datetime) -> int:
    """µs since the epoch of an aware time (the dedupe key of a point)."""
    return int(round(ts.timestamp() * 1_000_000))


def to_ms(ts: datetime) -> int:
    return int(round(ts.timestamp() * 1000))


def from_us(us: int | str) -> datetime:
    us = int(us)
    return datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc).replace(microsecond=us % 1_000_000)


def from_ms(ms: int | str) -> datetime:
    return from_us(int(ms) * 1000)


def event_id(delivery_id: Any, ts_us: int | str) -> str:
    """The ``delivery.location`` event id of a point: re-sending it never takes a second seq."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{delivery_id}:{ts_us}"))


def _num(text: str | bytes) -> float | None:
    if isinstance(text, bytes):
        text = text.decode()
    return float(text) if text != "" else None


def _text(value: Any) -> str:
    return "" if value is None else repr(float(value))


# --- results -----------------------------------------------------------------------------------


@dataclass
class Accepted:
    """What the ingest script decided for one point. ``send`` is ``now`` (publish it),
    ``deferred`` (the flush sends it when the window opens) or ``none``; ``arriving`` and
    ``live`` ask ``delivery.services`` for a transactional status change; ``speeds`` (m/s,
    newest first) and the drop-off give the ETA."""

    outcome: str  # ok | dropped | miss | not_assigned | ended
    kept: bool = False
    broadcastable: bool = False
    send: str = "none"
    arriving: bool = False
    live: bool = False
    dropoff: tuple[float, float] | None = None
    speeds: tuple[float, ...] = ()
    entry_id: str = ""


def _accepted(raw: list) -> Accepted:
    raw = [r.decode() if isinstance(r, bytes) else r for r in raw]
    if raw[0] != "ok":
        return Accepted(outcome=raw[0])
    dropoff = (float(raw[6]), float(raw[7])) if raw[6] != "" else None
    return Accepted(outcome="ok", kept=raw[1] == 1, broadcastable=raw[2] == 1, send=raw[3], arriving=raw[4] == 1,
                    live=raw[5] == 1, dropoff=dropoff, entry_id=raw[8], speeds=tuple(float(s) for s in raw[9:]))


@dataclass
class Flushed:
    """A pending point the flush took out to send: the point and its ETA's inputs."""

    delivery_id: str
    point: dict[str, Any]
    dropoff: tuple[float, float] | None
    speeds: tuple[float, ...]


def _flushed(raw: list) -> list[Flushed]:
    """The points of a flush script's reply (``[rows, next due]``)."""
    out = []
    for row in raw[0]:
        row = [r.decode() if isinstance(r, bytes) else r for r in row]
        pend = _decode_pending(row[1])
        dropoff = (float(row[2]), float(row[3])) if row[2] != "" else None
        out.append(Flushed(delivery_id=row[0], point=pend, dropoff=dropoff, speeds=tuple(float(s) for s in row[4:])))
    return out


def _decode_pending(text: str) -> dict[str, Any]:
    raw = json.loads(text)
    return {"us": int(raw["us"]), "ts": from_us(raw["us"]), "lat": float(raw["lat"]), "lon": float(raw["lon"]),
            "speed_mps": _num(raw["spd"]), "heading_deg": _num(raw["hdg"])}


# --- scripts on the sync and the async client -------------------------------------------------

_sync_scripts: dict[str, Any] = {}
_async_scripts: dict[tuple[int, str], Any] = {}
_SCRIPTS = {"ingest": INGEST_LUA, "flush": FLUSH_LUA, "load": LOAD_LUA}


def _script(name: str):
    client = sync_client()
    script = _sync_scripts.get(name)
    if script is None:
        script = _sync_scripts[name] = client.register_script(_SCRIPTS[name])
    return script


def _ascript(name: str):
    client = direct.async_client()
    script = _async_scripts.get((id(client), name))
    if script is None:
        if len(_async_scripts) > 48:  # clients of finished event loops (tests)
            _async_scripts.clear()
        script = _async_scripts[(id(client), name)] = client.register_script(_SCRIPTS[name])
    return script


def _ingest_call(*, delivery_id: str, user_id: str, point: dict[str, Any], now: datetime,
                 hold: bool = False) -> tuple[list[str], list]:
    keys = [key(delivery_id, "acc"), key(delivery_id, "pos"), key(delivery_id, "seen"), key(delivery_id, "spd"),
            stream_key(), flush_key()]
    args = [delivery_id, user_id, to_us(point["ts"]), repr(point["lat"]), repr(point["lon"]), repr(point["accuracy_m"]),
            _text(point.get("speed_mps")), _text(point.get("heading_deg")), to_ms(now),
            cfg("DELIVERY_MAX_SPEED_MPS", 70.0), cfg("DELIVERY_MAX_ACCURACY_M", 100.0),
            int(cfg("DELIVERY_BROADCAST_INTERVAL_S", 2.0) * 1000), cfg("DELIVERY_ARRIVING_RADIUS_M", 300.0),
            int(cfg("DELIVERY_DEDUPE_WINDOW", 1000)), STATE_TTL_SECONDS, point["ts"].isoformat(), "1" if hold else "0"]
    return keys, args


def ingest(*, delivery_id: Any, user_id: Any, point: dict[str, Any], now: datetime, hold: bool = False) -> Accepted:
    """Run the ingest script for one cleaned point ``{ts, lat, lon, accuracy_m, speed_mps,
    heading_deg}`` from the sync client; ``hold``: an older point of a batch (never sent now).
    ``outcome`` ``miss`` means the access hash is not loaded (:func:`load_access`, then call
    again). Raises ``redis.RedisError``."""
    keys, args = _ingest_call(delivery_id=str(delivery_id), user_id=str(user_id), point=point, now=now, hold=hold)
    return _accepted(_script("ingest")(keys=keys, args=args))


async def ingest_async(*, delivery_id: Any, user_id: Any, point: dict[str, Any], now: datetime) -> Accepted:
    """:func:`ingest` on the event loop's asyncio client."""
    keys, args = _ingest_call(delivery_id=str(delivery_id), user_id=str(user_id), point=point, now=now)
    return _accepted(await _ascript("ingest")(keys=keys, args=args))


def _flush_call(now: datetime, delivery_id: Any = None, limit: int = 200, overdue_s: float = 0.0) -> tuple[list[str], list]:
    args = [to_ms(now), int(cfg("DELIVERY_BROADCAST_INTERVAL_S", 2.0) * 1000), limit, f"{prefix()}:",
            to_ms(now) - int(overdue_s * 1000)]
    if delivery_id is not None:
        args.append(str(delivery_id))
    return [flush_key()], args


def take_due(*, now: datetime, delivery_id: Any = None, limit: int = 200, overdue_s: float = 0.0) -> list[Flushed]:
    """Take the pending points whose throttle window is open (of one delivery, or of any, at
    most ``limit``, whose window opened at least ``overdue_s`` ago: the Celery tick leaves the
    gateways' workers a second), marking them sent: the caller publishes them. Raises
    ``redis.RedisError``."""
    keys, args = _flush_call(now, delivery_id, limit, overdue_s)
    return _flushed(_script("flush")(keys=keys, args=args))


async def take_due_async(*, now: datetime, limit: int = 200) -> tuple[list[Flushed], float | None]:
    """:func:`take_due` for every delivery, on the event loop's asyncio client; also when the
    earliest window still pending opens, as a Unix time in seconds (``None``: nothing is
    pending), read by the same script."""
    keys, args = _flush_call(now, None, limit)
    raw = await _ascript("flush")(keys=keys, args=args)
    return _flushed(raw), (float(raw[1]) / 1000.0 if raw[1] else None)


# --- access: loaded from the database, dropped when it changes ----------------------------------


def _load_args(delivery: Delivery, seen: str) -> tuple[list[str], list]:
    did = str(delivery.pk)
    args = [seen, str(delivery.courier_id or ""), "1" if delivery.status in ACTIVE else "0", delivery.status,
            "1" if delivery.stale else "0", ACCESS_TTL_SECONDS, repr(delivery.dropoff_lat), repr(delivery.dropoff_lon),
            STATE_TTL_SECONDS]
    if delivery.last_ts is not None:
        args += [to_us(delivery.last_ts), repr(delivery.last_lat), repr(delivery.last_lon), _text(delivery.last_speed_mps),
                 _text(delivery.last_heading_deg), delivery.last_ts.isoformat(),
                 to_ms(delivery.last_received_at or delivery.last_ts)]
    return [key(did, "acc"), key(did, "gen"), key(did, "pos")], args


def generation(delivery_id: Any) -> str:
    """The access hash's generation now (read before reading the delivery)."""
    return (sync_client().get(key(delivery_id, "gen")) or b"").decode()


def store_access(delivery: Delivery, *, seen: str) -> bool:
    """Write the access hash of ``delivery`` as read by the caller, unless :func:`forget` ran
    since the caller read the generation ``seen`` (then nothing is written: the row read may be
    older than the change). Seeds the last position from the row when Redis has none (after a
    Redis restart). Returns whether it wrote."""
    keys, args = _load_args(delivery, seen)
    return bool(_script("load")(keys=keys, args=args))


def load_access(*, delivery_id: Any) -> bool:
    """Read the delivery (one query) and write its access hash (:func:`store_access`). Returns
    False for an unknown delivery."""
    seen = generation(delivery_id)
    delivery = (Delivery.objects.only("id", "courier_id", "status", "stale", "dropoff_lat", "dropoff_lon", "last_ts",
                                      "last_lat", "last_lon", "last_speed_mps", "last_heading_deg", "last_received_at")
                .filter(pk=delivery_id).first())
    if delivery is None:
        return False
    store_access(delivery, seen=seen)
    return True


def write_access(delivery: Delivery) -> None:
    """Write the access hash of a delivery the caller has locked (its row is current)."""
    store_access(delivery, seen=generation(delivery.pk))


def forget(delivery_id: Any, *, ended: bool = False) -> None:
    """Drop the access hash after a change of who carries the delivery, its status or its
    staleness committed (``delivery.services`` calls it on commit); the next point reloads it.
    ``ended``: tracking ended, so a point still held by the throttle is never sent. A Redis
    error is logged: the hash expires within ``ACCESS_TTL_SECONDS`` anyway."""
    try:
        pipe = sync_client().pipeline(transaction=True)
        pipe.incr(key(delivery_id, "gen"))
        pipe.expire(key(delivery_id, "gen"), STATE_TTL_SECONDS)
        pipe.delete(key(delivery_id, "acc"))
        if ended:
            pipe.hdel(key(delivery_id, "pos"), "pend")
            pipe.zrem(flush_key(), str(delivery_id))
        pipe.execute()
    except redis.RedisError:
        logger.warning("delivery tracking: could not drop the access of %s; it expires in %d s",
                       delivery_id, ACCESS_TTL_SECONDS)


def forget_on_commit(delivery_id: Any, *, ended: bool = False) -> None:
    """:func:`forget` after the current transaction commits."""
    did = str(delivery_id)
    transaction.on_commit(lambda: forget(did, ended=ended), robust=True)


# --- reads --------------------------------------------------------------------------------------


def last_position(delivery_id: Any) -> dict[str, Any] | None:
    """The last kept point and the recent speeds from Redis: ``{lat, lon, ts, speed_mps,
    heading_deg, speeds}``, or None when Redis has none (the caller reads the database)."""
    pipe = sync_client().pipeline(transaction=False)
    pipe.hmget(key(delivery_id, "pos"), "lts", "lat", "lon", "spd", "hdg")
    pipe.lrange(key(delivery_id, "spd"), 0, 4)
    (lts, lat, lon, spd, hdg), speeds = pipe.execute()
    if lts is None:
        return None
    return {"ts": from_us(lts), "lat": float(lat), "lon": float(lon), "speed_mps": _num(spd or b""),
            "heading_deg": _num(hdg or b""), "speeds": [float(s) for s in speeds]}


# --- persistence ----------------------------------------------------------------------------------


def consumer_name(kind: str = "daphne") -> str:
    """This process's consumer in the group: ``<kind>-<host>-<pid>``."""
    return f"{kind}-{socket.gethostname()}-{os.getpid()}"


def ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(stream_key(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _decode_entry(fields: dict) -> dict[str, str]:
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()}


def write_points(entries: list[tuple[str, dict[str, str]]]) -> int:
    """Store stream entries ``(id, fields)`` as :class:`LocationPoint` rows, in one transaction:
    one ``INSERT ... ON CONFLICT DO NOTHING`` (the unique key (delivery, ts) makes a redelivered
    entry a no-op) and one ``UPDATE`` moving each delivery's ``last_*`` to its newest kept point
    (never backwards). Points of deliveries that no longer exist are skipped. Returns the rows
    written (a redelivered one included). Raises the database's errors (the entries then stay
    pending)."""
    parsed = [f for _, f in entries]
    ids = {f["d"] for f in parsed}
    known = {str(pk) for pk in Delivery.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    rows, newest = [], {}
    for f in parsed:
        if f["d"] not in known:
            continue
        ts = datetime.fromisoformat(f["ts"])
        row = LocationPoint(delivery_id=f["d"], ts=ts, lat=float(f["lat"]), lon=float(f["lon"]),
                            accuracy_m=float(f["acc"]), speed_mps=_num(f["spd"]), heading_deg=_num(f["hdg"]),
                            kept=f["k"] == "1", broadcastable=f["b"] == "1", reject_reason=f["r"],
                            received_at=from_ms(f["rcv"]))
        rows.append(row)
        if row.kept and (f["d"] not in newest or newest[f["d"]].ts < ts):
            newest[f["d"]] = row
    if not rows:
        return 0
    with transaction.atomic():
        LocationPoint.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        _update_last(sorted(newest.values(), key=lambda r: str(r.delivery_id)))
    return len(rows)


def _update_last(rows: list[LocationPoint]) -> None:
    if not rows:
        return
    table = Delivery._meta.db_table
    values = ", ".join(["(%s::uuid, %s::float8, %s::float8, %s::timestamptz, %s::float8, %s::float8, %s::timestamptz)"]
                       * len(rows))
    params: list[Any] = []
    for r in rows:
        params += [str(r.delivery_id), r.lat, r.lon, r.ts, r.speed_mps, r.heading_deg, r.received_at]
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} AS d SET last_lat = v.lat, last_lon = v.lon, last_ts = v.ts, last_speed_mps = v.spd, "
            f"last_heading_deg = v.hdg, last_received_at = GREATEST(d.last_received_at, v.rcv), updated_at = now() "
            f"FROM (VALUES {values}) AS v(id, lat, lon, ts, spd, hdg, rcv) "
            f"WHERE d.id = v.id AND (d.last_ts IS NULL OR d.last_ts < v.ts)", params)


def read_batch(client: redis.Redis, *, consumer: str, count: int, claim_idle_ms: int | None) -> list[tuple[str, dict]]:
    """Entries for ``consumer`` to persist: first those a dead consumer left idle for
    ``claim_idle_ms`` (``XAUTOCLAIM``, when given), then its own unacknowledged ones, then new
    ones (``XREADGROUP``). Raises ``redis.RedisError``."""
    ensure_group(client)
    if claim_idle_ms is not None:
        client.xautoclaim(stream_key(), GROUP, consumer, min_idle_time=claim_idle_ms, start_id="0-0", count=count)
    for start in ("0", ">"):
        entries, gone = _entries(client.xreadgroup(GROUP, consumer, {stream_key(): start}, count=count))
        if gone:  # pending here but deleted by whoever stored them: nothing left to store
            client.xack(stream_key(), GROUP, *gone)
        if entries:
            return entries
    return []


def _entries(reply) -> tuple[list[tuple[str, dict]], list[str]]:
    entries, gone = [], []
    for _, batch in reply:
        for eid, fields in batch:
            eid = eid.decode() if isinstance(eid, bytes) else eid
            if fields:
                entries.append((eid, _decode_entry(fields)))
            else:
                gone.append(eid)
    return entries, gone


def acknowledge(client: redis.Redis, ids: list[str]) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.xack(stream_key(), GROUP, *ids)
    pipe.xdel(stream_key(), *ids)
    pipe.execute()


def persist_pending(*, consumer: str | None = None, count: int = 5000, claim_idle_ms: int | None = None) -> int:
    """Persist one batch from the stream as ``consumer`` (default: this process), synchronously:
    read (:func:`read_batch`), write (:func:`write_points`), acknowledge and delete. Returns
    how many entries it handled. The Celery tick calls it with ``claim_idle_ms`` as the backstop
    of the gateways' workers. Raises ``redis.RedisError`` and the database's errors (nothing is
    acknowledged then)."""
    client = sync_client()
    entries = read_batch(client, consumer=consumer or consumer_name("sync"), count=count, claim_idle_ms=claim_idle_ms)
    if entries:
        write_points(entries)
        acknowledge(client, [eid for eid, _ in entries])
    return len(entries)


async def _persist_async(client, *, consumer: str, count: int, claim_idle_ms: int | None) -> int:
    try:
        await client.xgroup_create(stream_key(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    if claim_idle_ms is not None:
        await client.xautoclaim(stream_key(), GROUP, consumer, min_idle_time=claim_idle_ms, start_id="0-0", count=count)
    entries: list[tuple[str, dict]] = []
    for start in ("0", ">"):
        entries, gone = _entries(await client.xreadgroup(GROUP, consumer, {stream_key(): start}, count=count))
        if gone:
            await client.xack(stream_key(), GROUP, *gone)
        if entries:
            break
    if not entries:
        return 0
    await database_sync_to_async(write_points, thread_sensitive=False)(entries)
    ids = [eid for eid, _ in entries]
    pipe = client.pipeline(transaction=False)
    pipe.xack(stream_key(), GROUP, *ids)
    pipe.xdel(stream_key(), *ids)
    await pipe.execute()
    return len(entries)


# --- the worker on the gateway's event loop -------------------------------------------------------

_workers: dict[int, asyncio.Task] = {}


def ensure_worker() -> None:
    """Start this event loop's worker if it is not running (called by the ``location``
    command; cheap when it runs)."""
    loop = asyncio.get_running_loop()
    task = _workers.get(id(loop))
    if task is None or task.done():
        if len(_workers) > 16:
            _workers.clear()
        # a context of its own: not the context of the command that happened to start it
        _workers[id(loop)] = loop.create_task(run_worker(), name="delivery-tracking-worker", context=contextvars.Context())


async def run_worker(*, publish_flushed=None) -> None:
    """Forever, as two tasks so that a slow batch never delays a flush: send the pending points
    whose throttle window opened, waking when the earliest window opens (checked at least every
    ``DELIVERY_FLUSH_INTERVAL_S``, 0.1 s, and at most every ``FLUSH_MIN_SLEEP_S``, 10 ms);
    every ``DELIVERY_PERSIST_INTERVAL_S`` (0.5 s, at most 1 s) persist what the stream holds
    (taking over entries a dead consumer left idle for ``DELIVERY_PERSIST_CLAIM_IDLE_S``,
    checked every 5 s). Errors (Redis or PostgreSQL down) are logged and retried on the next
    round; nothing is acknowledged that was not stored."""
    from delivery.services import publish_flushed_async  # cycle-breaker: services import this module

    await asyncio.gather(_flush_loop(publish_flushed or publish_flushed_async), _persist_loop())


async def _flush_loop(publish_flushed) -> None:
    every = cfg("DELIVERY_FLUSH_INTERVAL_S", 0.1)
    shortest = min(every, FLUSH_MIN_SLEEP_S)
    while True:
        pause = every
        try:
            flushed_points, due = await take_due_async(now=datetime.now(timezone.utc))
            for flushed in flushed_points:
                await publish_flushed(flushed)
            if due is not None:
                pause = min(every, max(shortest, due - time.time()))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an outage must not end the worker; retried next round
            logger.exception("delivery tracking worker: flush failed; retrying")
            pause = 1.0
        await asyncio.sleep(pause)


async def _persist_loop() -> None:
    consumer = consumer_name()
    every = min(cfg("DELIVERY_PERSIST_INTERVAL_S", 0.5), 1.0)
    claim_idle_ms = int(cfg("DELIVERY_PERSIST_CLAIM_IDLE_S", 10.0) * 1000)
    last_claim = 0.0
    while True:
        started = time.monotonic()
        try:
            claim = None
            if started - last_claim >= 5.0:
                claim, last_claim = claim_idle_ms, started
            while await _persist_async(direct.async_client(), consumer=consumer, count=5000, claim_idle_ms=claim) >= 5000:
                claim = None
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an outage must not end the worker; retried next round
            logger.exception("delivery tracking worker: persisting failed; retrying")
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
