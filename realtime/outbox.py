"""Publishing realtime events through the transactional outbox: one commit per command.

Services call :func:`publish` (or :func:`publish_many`) inside their ``transaction.atomic`` block
with an event built by its type's one builder (``realtime.events``: the type's schema and the
topic kinds it goes on are checked here). The event is stored as an
:class:`~realtime.models.OutboxEvent` row in that transaction, so a rollback publishes nothing.

**On commit** (:func:`deliver`, run by the committing thread, no database work): the rows are
appended to Redis (sequence number + history, ``realtime.streams``) in one pipeline and fanned
out to the topics' channel-layer groups. Each append also pushes ``<row id>:<seq>:<ts>`` onto a
Redis list; :func:`mark_delivered` (the beat's :func:`sweep`, every 2 s) marks those rows
published in PostgreSQL in batches, one ``UPDATE`` per 5,000 rows. So a command costs the one
commit of its own transaction; before, the relay ran a second transaction per command (lock
the pending rows, append, fan out, mark, commit: 57 % of the command path in
``bench/results/hot_paths-before.md``).

The guarantees:

- **Only committed facts**: nothing is appended before the commit (``transaction.on_commit``,
  which also drops the rows of a rolled-back savepoint).
- **No duplicate seq**: the append is idempotent per event id (a second append gets the first
  seq back, ``new=False``, and is not fanned out again).
- **Per-topic order**: the insert returns, with the row id, the id of the topic's previous
  pending row visible to the transaction (``prev``). The append refuses (*fences*) a row whose
  ``prev`` is above the highest row id appended for the topic (``rt:oid:<topic>``): an earlier
  committed event of the topic is not out yet (its committing thread is late, or died). The
  deliverer then reads the topic's pending rows between the last appended one and its own (one
  SELECT, no lock) and appends them first, in id order; the late thread's own append later
  gets the same seq back. Writers serialised by a row lock (an auction, a conversation, a
  cart, a user's chat counters) insert in commit order, so their events keep commit order.
- **A crash between commit and append** (process killed, Redis down) leaves the rows pending;
  :func:`sweep` publishes rows older than ``SWEEP_MIN_AGE_SECONDS`` (re-appends are harmless,
  above). A crash between append and marking leaves the row pending too; the sweep's append
  returns its first seq and marks it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone as dt_timezone
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from realtime import publisher, streams
from realtime.events import Event, check
from realtime.jsonutil import dumps
from realtime.models import OutboxEvent

logger = logging.getLogger(__name__)

#: rows per ``UPDATE`` of :func:`mark_delivered`
MARK_BATCH = 5000

_TABLE = OutboxEvent._meta.db_table


def _insert(pairs: list[tuple[str, Event]], batch_size: int) -> list[tuple[OutboxEvent, str, int]]:
    """INSERT the rows (in batches), each returning its id and the id of its topic's previous
    pending row visible to this transaction (0 for none). Returns ``(row, data_json, prev)``."""
    out: list[tuple[OutboxEvent, str, int]] = []
    now = timezone.now()
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            rows = [OutboxEvent(topic=topic, type=event.type, data=event.data, created_at=now) for topic, event in chunk]
            jsons = [dumps(row.data) for row in rows]
            params: list[Any] = []
            for row, data_json in zip(rows, jsons):
                params += [row.event_id, row.topic, row.type, data_json, now]
            cursor.execute(
                f"INSERT INTO {_TABLE} (event_id, topic, type, data, created_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s::jsonb, %s)"] * len(rows))
                + f" RETURNING id, (SELECT max(p.id) FROM {_TABLE} p WHERE p.topic = {_TABLE}.topic"
                " AND p.published_at IS NULL)",
                params,
            )
            for row, data_json, (pk, prev) in zip(rows, jsons, cursor.fetchall()):
                row.pk = pk
                row._state.adding = False
                row._state.db = connection.alias
                out.append((row, data_json, prev or 0))
    return out


def publish(*, topic: str, event: Event) -> OutboxEvent:
    """Queue ``event`` (built by its type's ``build``, ``realtime.events``) for ``topic``; it is
    sent after commit.

    Call it inside the transaction that makes the change. Raises ``ValueError`` for a malformed
    topic, a topic of a kind the event type is not published on, or an ephemeral type (those go
    through ``realtime.ephemeral.send``); with ``REALTIME["VALIDATE_EVENTS"]`` on,
    ``realtime.events.InvalidEvent`` for data that does not match the schema. Nothing is written
    then. Returns the stored outbox row.
    """
    return publish_many([(topic, event)])[0]


def publish_many(events: Iterable[tuple[str, Event]], *, batch_size: int = 2000) -> list[OutboxEvent]:
    """Queue many ``(topic, event)`` pairs with bulk INSERTs; sent after commit, in this order.

    The bulk twin of :func:`publish` (same checks, same rows, same delivery): a notification to
    1,000 users costs one query for its 2,000 events, and they are appended to Redis in
    pipelined batches. Raises what :func:`publish` raises, before anything is written.
    """
    pairs = list(events)
    for topic, event in pairs:
        check(topic, event)
    if not pairs:
        return []
    inserted = _insert(pairs, batch_size)
    transaction.on_commit(partial(deliver, inserted), robust=True)
    return [row for row, _, _ in inserted]


def deliver(inserted: list[tuple[OutboxEvent, str, int]], *, batch: int = 500) -> int:
    """After commit: append ``(row, data_json, prev)`` (from the insert) to Redis and fan them
    out; no database work unless an earlier event of a topic is not out yet (see the module
    docstring, "Per-topic order"). Returns how many were appended. Redis errors are logged: the
    rows stay pending for :func:`sweep`."""
    total = 0
    try:
        for start in range(0, len(inserted), batch):
            chunk = inserted[start:start + batch]
            results = streams.append_many([
                streams.Outgoing(row.topic, row.type, data_json, str(row.event_id), oid=row.pk, prev_oid=prev, ack=True)
                for row, data_json, prev in chunk
            ])
            sends = []
            fenced: dict[str, tuple[int, list[tuple[OutboxEvent, str]]]] = {}
            for (row, data_json, _), appended in zip(chunk, results):
                if appended.fenced:
                    last, rows = fenced.setdefault(row.topic, (appended.last_oid, []))
                    rows.append((row, data_json))
                elif appended.new:
                    sends.append(_send(row.topic, row.type, data_json, appended))
            for topic, (last, rows) in fenced.items():
                sends += _deliver_behind(topic, last, rows)
            total += len(sends)
            _fan_out(sends)
    except Exception:  # noqa: BLE001 - committed; the sweep sends what is left
        logger.warning("outbox: delivery after commit failed; the sweep will send the rest", exc_info=True)
    return total


def _deliver_behind(topic: str, last: int, rows: list[tuple[OutboxEvent, str]]) -> list[tuple[str, dict[str, Any]]]:
    """``rows`` of ``topic`` were fenced: committed rows of the topic above ``last`` (the highest
    id appended) and below ours are not out yet (their committing thread is late, or died).
    Append those first, in id order, then ours: one SELECT, no lock (a row appended twice keeps
    its first seq, so racing its own deliverer is harmless). Returns the sends to fan out."""
    behind = list(
        OutboxEvent.objects.filter(topic=topic, published_at__isnull=True, id__gt=last, id__lt=rows[0][0].pk)
        .order_by("id")[:MARK_BATCH]
    )
    ordered = [(row, dumps(row.data)) for row in behind] + rows
    results = streams.append_many([
        streams.Outgoing(row.topic, row.type, data_json, str(row.event_id), oid=row.pk, ack=True)
        for row, data_json in ordered
    ])
    return [_send(row.topic, row.type, data_json, appended)
            for (row, data_json), appended in zip(ordered, results) if appended.new]


def _send(topic: str, type_: str, data_json: str, appended: streams.Appended) -> tuple[str, dict[str, Any]]:
    frame = streams.event_frame(topic=topic, seq=appended.seq, type=type_, data_json=data_json, ts_ms=appended.ts_ms)
    return streams.group_name(topic), {"type": "rt.event", "topic": topic, "seq": appended.seq, "frame": frame}


def mark_delivered(*, batch: int = MARK_BATCH, max_batches: int = 100) -> int:
    """Mark the rows appended on commit (the Redis acks list) published in PostgreSQL, with
    their seq and append time: one ``UPDATE`` per ``batch`` rows, in autocommit. Returns the
    count. Raises ``redis.RedisError``; an ``UPDATE`` that fails leaves its rows pending (the
    sweep re-appends them harmlessly)."""
    total = 0
    for _ in range(max_batches):
        acks = streams.take_acks(batch)
        if not acks:
            break
        params: list[Any] = []
        for oid, seq, ts_ms in acks:
            params += [oid, seq, datetime.fromtimestamp(ts_ms / 1000, tz=dt_timezone.utc)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_TABLE} AS o SET seq = v.seq, published_at = v.ts FROM (VALUES "
                + ", ".join(["(%s::bigint, %s::bigint, %s::timestamptz)"] * len(acks))
                + ") AS v(id, seq, ts) WHERE o.id = v.id AND o.published_at IS NULL",
                params,
            )
        total += len(acks)
        if len(acks) < batch:
            break
    return total


def relay_all(*, topics: Iterable[str], batch: int = 500) -> int:
    """:func:`relay` in batches until no pending event of ``topics`` is left. Returns the count."""
    topics = list(topics)
    total = 0
    while True:
        n = relay(topics=topics, limit=batch)
        total += n
        if n < batch:
            return total


def _fan_out(sends: list[tuple[str, dict[str, Any]]]) -> None:
    if not sends:
        return
    async def send_all() -> None:
        layer = get_channel_layer()
        for group, message in sends:
            await layer.group_send(group, message)

    publisher.run(send_all)


def relay(*, topics: Iterable[str] | None = None, min_age: timedelta | None = None, limit: int = 500) -> int:
    """Publish pending outbox events (of ``topics``, or of all topics), oldest first.

    ``min_age`` skips events younger than that (the sweep leaves fresh ones to their own relay).
    Returns how many rows it marked published. Raises ``redis.RedisError`` when Redis is down;
    the rows then stay pending for the next sweep.
    """
    with transaction.atomic():
        qs = OutboxEvent.objects.select_for_update().filter(published_at__isnull=True)
        if topics is not None:
            qs = qs.filter(topic__in=list(topics))
        if min_age is not None:
            qs = qs.filter(created_at__lte=timezone.now() - min_age)
        rows = list(qs.order_by("id")[:limit])
        if not rows:
            return 0
        sends = []
        data_jsons = [dumps(row.data) for row in rows]
        appended_all = streams.append_many([
            streams.Outgoing(row.topic, row.type, data_json, str(row.event_id), oid=row.pk)
            for row, data_json in zip(rows, data_jsons)
        ])
        for row, data_json, appended in zip(rows, data_jsons, appended_all):
            row.seq = appended.seq
            row.published_at = datetime.fromtimestamp(appended.ts_ms / 1000, tz=dt_timezone.utc) if appended.ts_ms else timezone.now()
            if appended.new:  # a known event id was sent by whoever appended it first
                sends.append(_send(row.topic, row.type, data_json, appended))
        # Fan out while the rows are locked so that no other relay interleaves these topics.
        _fan_out(sends)
        OutboxEvent.objects.bulk_update(rows, ["seq", "published_at"])
    return len(rows)


def sweep(*, batch: int = 500, max_batches: int = 20) -> int:
    """Mark the rows delivered on commit (:func:`mark_delivered`), then publish events a crash
    left pending (older than ``SWEEP_MIN_AGE_SECONDS``). Returns how many it published."""
    mark_delivered()
    min_age = timedelta(seconds=settings.REALTIME["SWEEP_MIN_AGE_SECONDS"])
    total = 0
    for _ in range(max_batches):
        n = relay(min_age=min_age, limit=batch)
        total += n
        if n < batch:
            break
    return total


def purge(*, older_than: timedelta | None = None) -> int:
    """Delete published outbox rows older than ``OUTBOX_RETENTION_HOURS``. Returns the count."""
    older_than = older_than or timedelta(hours=settings.REALTIME["OUTBOX_RETENTION_HOURS"])
    deleted, _ = OutboxEvent.objects.filter(published_at__lt=timezone.now() - older_than).delete()
    return deleted


def send_to_user_connections(user_id: Any, message: dict[str, Any]) -> None:
    """Send a control message to every gateway connection of a user (not an event: no seq, not
    stored). Used to close sockets at logout or ban: ``{"type": "rt.close", "code": 4401}``."""
    publisher.run(lambda: get_channel_layer().group_send(user_group(user_id), message))


def user_group(user_id: Any) -> str:
    """Channel-layer group holding every gateway connection of a user."""
    return f"rt-user.{user_id}"


def disconnect_user(user_id: Any, *, code: int = 4401, reason: str = "logged_out") -> None:
    """Close every open socket of a user with ``code`` (after commit when inside a transaction)."""
    transaction.on_commit(
        lambda: send_to_user_connections(user_id, {"type": "rt.close", "code": code, "reason": reason}), robust=True
    )


def revoke_subscription(*, user_id: Any, topic: str, reason: str) -> None:
    """After commit, drop ``topic`` from every socket of a user that is subscribed to it; the
    client gets ``{"op":"event","topic":...,"type":"subscription.revoked","data":{"reason"}}``.
    Used when access ends (e.g. a buyer's delivery tracking after delivery)."""
    transaction.on_commit(
        lambda: send_to_user_connections(user_id, {"type": "rt.unsubscribe", "topic": topic, "reason": reason}),
        robust=True,
    )


def reauthorize_topic(*, topic: str, reason: str) -> None:
    """After commit, make every socket subscribed to ``topic`` check its access again (the
    topic's ``authorize``); those refused get ``subscription.revoked`` with ``reason``. For a
    change that narrows who may see a topic (an auction cancelled). Sockets check a subscribed
    topic's access once, at subscribe, not per command (``realtime.consumers``)."""
    message = {"type": "rt.reauthorize", "topic": topic, "reason": reason}
    transaction.on_commit(
        lambda: publisher.run(lambda: get_channel_layer().group_send(streams.group_name(topic), message)), robust=True
    )


def reauthorize_user(*, user_id: Any, reason: str) -> None:
    """After commit, make every socket of a user check its access to each subscribed topic
    again (e.g. removed from a store's staff); refused topics get ``subscription.revoked``."""
    transaction.on_commit(
        lambda: send_to_user_connections(user_id, {"type": "rt.reauthorize", "topic": None, "reason": reason}),
        robust=True,
    )
