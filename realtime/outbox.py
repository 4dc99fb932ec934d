"""Publishing realtime events through the transactional outbox.

Services call :func:`publish` (or :func:`publish_many`) inside their ``transaction.atomic`` block
with an event built by its type's one builder (``realtime.events``: the type's schema and the
topic kinds it goes on are checked here). The event is stored as an
:class:`~realtime.models.OutboxEvent` row in that transaction, so a rollback publishes nothing.
After commit, :func:`relay` sends the pending events of the touched topics, in outbox order, to
Redis (sequence number + history, see ``realtime.streams``) and to the topic's channel-layer
group. A Celery beat task (:func:`sweep`) sends whatever a crash between commit and relay left
behind. Event ids make a re-publish harmless: the second append gets the first seq back and the
gateway drops an event whose seq a connection has already delivered.

Ordering: the relay locks pending rows (``select_for_update``, id order) while it appends and
fans them out, so two relays never interleave one topic's events. Services that serialise their
writes with a row lock (cart, auction) therefore get their events delivered in commit order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from realtime import publisher, streams
from realtime.events import Event, check
from realtime.jsonutil import dumps
from realtime.models import OutboxEvent

logger = logging.getLogger(__name__)


def publish(*, topic: str, event: Event) -> OutboxEvent:
    """Queue ``event`` (built by its type's ``build``, ``realtime.events``) for ``topic``; it is
    sent after commit.

    Call it inside the transaction that makes the change. Raises ``ValueError`` for a malformed
    topic, a topic of a kind the event type is not published on, or an ephemeral type (those go
    through ``realtime.ephemeral.send``); with ``REALTIME["VALIDATE_EVENTS"]`` on,
    ``realtime.events.InvalidEvent`` for data that does not match the schema. Nothing is written
    then. Returns the stored outbox row.
    """
    check(topic, event)
    row = OutboxEvent.objects.create(topic=topic, type=event.type, data=event.data)
    transaction.on_commit(lambda: relay(topics=[topic]), robust=True)
    return row


def publish_many(events: Iterable[tuple[str, Event]], *, batch_size: int = 2000) -> list[OutboxEvent]:
    """Queue many ``(topic, event)`` pairs with bulk INSERTs; sent after commit, in this order.

    The bulk twin of :func:`publish` (same checks, same rows, same relay): a notification to
    1,000 users costs one query for its 2,000 events, and the relay appends them to Redis in
    pipelined batches. Raises what :func:`publish` raises, before anything is written.
    """
    rows = []
    for topic, event in events:
        check(topic, event)
        rows.append(OutboxEvent(topic=topic, type=event.type, data=event.data))
    if not rows:
        return []
    OutboxEvent.objects.bulk_create(rows, batch_size=batch_size)
    topics = list(dict.fromkeys(row.topic for row in rows))
    transaction.on_commit(lambda: relay_all(topics=topics), robust=True)
    return rows


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
        appended_all = streams.append_many(
            [(row.topic, row.type, data_json, str(row.event_id)) for row, data_json in zip(rows, data_jsons)]
        )
        now = timezone.now()
        for row, data_json, appended in zip(rows, data_jsons, appended_all):
            row.seq = appended.seq
            row.published_at = now
            frame = streams.event_frame(
                topic=row.topic, seq=appended.seq, type=row.type, data_json=data_json, ts_ms=appended.ts_ms
            )
            sends.append(
                (streams.group_name(row.topic), {"type": "rt.event", "topic": row.topic, "seq": appended.seq, "frame": frame})
            )
        # Fan out while the rows are locked so that no other relay interleaves these topics.
        _fan_out(sends)
        OutboxEvent.objects.bulk_update(rows, ["seq", "published_at"])
    return len(rows)


def sweep(*, batch: int = 500, max_batches: int = 20) -> int:
    """Publish events a crash left pending (older than ``SWEEP_MIN_AGE_SECONDS``). Returns the count."""
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
