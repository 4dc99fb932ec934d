"""Writes of notifications: ``notify`` (the one entry point for every app), inbox state changes,
preferences, and email delivery (one per notification, and the daily digest).

Concurrency: every change to a user's notifications first locks that user's
:class:`~notifications.models.NotificationCounter` row (``SELECT … FOR UPDATE``; several users in
user-id order). Changes and the ``notification.counts`` events they publish through the outbox are
therefore serialised per user, and outbox order is commit order: the last ``notification.counts``
a socket receives equals the committed truth.

Events, published after commit to ``user:<user_id>`` (see README):

* ``notification.created`` — the notification (shape of ``payloads.notification_dict``);
* ``notification.updated`` — ``{"id", "seen_at", "read_at", "archived_at"}`` after read/unread/archive/unarchive;
* ``notification.read_all`` — ``{"read_at", "count"}`` after "mark all read";
* ``notification.seen_all`` — ``{"seen_at", "count"}`` after the bell was opened;
* ``notification.counts`` — ``{"unread", "unseen"}`` after every change (no-ops publish nothing).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.exceptions import ApplicationError, NotFound
from core.utils import parse_uuid
from notifications import emails, selectors
from notifications.kinds import CHANNELS, EMAIL, IN_APP, get_kind, is_registered
from notifications.models import (
    EmailDigest,
    Notification,
    NotificationCounter,
    NotificationDelivery,
    NotificationPreference,
    NotificationSettings,
)
from notifications.events import (
    NotificationCounts,
    NotificationCreated,
    NotificationReadAll,
    NotificationSeenAll,
    NotificationUpdated,
)
from realtime import outbox
from realtime.events import Event
from realtime.user_topic import USER_TOPIC
from realtime.jsonutil import to_jsonable

logger = logging.getLogger(__name__)

#: Errors of the mail transport that make a send worth retrying (SMTPException is an OSError).
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (SMTPException, ConnectionError, OSError)

#: Rows per INSERT in bulk writes (a 1,000-recipient ``notify`` is one INSERT per table).
BATCH_SIZE = 2000

#: A digest is sent at most once per this interval, whatever runs the task.
DIGEST_MIN_INTERVAL = timedelta(hours=20)
#: The first digest looks back this far; later ones from the previous digest minus an overlap
#: (notifications committed late are still caught; delivery rows prevent repeats).
DIGEST_FIRST_LOOKBACK = timedelta(days=1)
DIGEST_OVERLAP = timedelta(hours=1)


# --- outbox helpers ----------------------------------------------------------------------------

def _publish_many(events: list[tuple[str, Event]]) -> None:
    """Queue many ``(topic, event)`` pairs; sent after commit in this order."""
    if events:
        outbox.publish_many(events, batch_size=BATCH_SIZE)


# --- counters (the per-user lock) --------------------------------------------------------------

def _lock_counters(user_ids: list[Any]) -> dict[Any, NotificationCounter]:
    """Create missing counter rows, then lock all of them in user-id order (two queries)."""
    ids = sorted(set(user_ids), key=str)
    NotificationCounter.objects.bulk_create(
        [NotificationCounter(user_id=uid) for uid in ids], ignore_conflicts=True, batch_size=BATCH_SIZE
    )
    rows = NotificationCounter.objects.select_for_update().filter(user_id__in=ids).order_by("user_id")
    return {row.user_id: row for row in rows}


def _lock_counter(user_id: Any) -> NotificationCounter:
    """Lock (creating if needed) one user's counter row; one query when it exists."""
    row = NotificationCounter.objects.select_for_update().filter(user_id=user_id).first()
    if row is None:
        row = _lock_counters([user_id])[user_id]
    return row


def _counts(row: NotificationCounter) -> dict[str, int]:
    return {"unread": row.unread, "unseen": row.unseen}


def _counts_event(counts: dict[str, int]) -> Event:
    return NotificationCounts.build(unread=counts["unread"], unseen=counts["unseen"])


# --- notify ------------------------------------------------------------------------------------

def _recipient_ids(recipients: Iterable[Any]) -> list[uuid.UUID]:
    if recipients is None or isinstance(recipients, (str, bytes)) or not isinstance(recipients, Iterable):
        raise ValueError("recipients must be an iterable of users or user ids")
    ids: dict[uuid.UUID, None] = {}
    for r in recipients:
        raw = getattr(r, "pk", r)
        try:
            ids[raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))] = None
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"not a user or user id: {r!r}") from None
    return list(ids)


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    data: Mapping[str, Any] | None = None,
    target: models.Model | None = None,
    send_email: bool = True,
) -> list[Notification]:
    """Notify ``recipients`` (users or user ids; duplicates ignored) of ``kind``.

    Stores one :class:`Notification` per recipient in the caller's transaction (call it inside
    the ``transaction.atomic`` that makes the change) and, after commit, publishes to each
    recipient's ``user:<id>`` topic ``notification.created`` then ``notification.counts``
    ``{"unread", "unseen"}``; queues one email task per notification whose email channel is on
    (critical kinds always; users on the daily digest get non-critical kinds in the digest).

    Preferences per recipient: in-app off → the row is stored with ``in_app=False`` (no inbox, no
    counts, no event) when email is on, and nothing is stored when both are off.

    ``title``: at most 200 characters, not blank. ``data``: a JSON-able mapping for the client to
    deep-link (Decimals become strings, datetimes ISO 8601); ``data["url"]`` may give a
    site-relative link used in emails. ``target``: an optional saved model instance it is about.
    ``send_email=False`` keeps it in-app only whatever the preferences (demo data, backfills).

    Queries: a constant number (about ten) whatever the number of recipients up to
    :data:`BATCH_SIZE`. Returns the stored notifications (in-app and email-only), in recipient order.

    Raises ``UnknownNotificationKind`` (a ``ValueError``) for an unregistered kind and
    ``ValueError`` for a bad title, data, recipient or target — at the call, before any write.
    """
    k = get_kind(kind)
    data_json, ct_id, object_id = _checked_content(title=title, body=body, data=data, target=target)
    user_ids = _recipient_ids(recipients)
    if not user_ids:
        return []
    with transaction.atomic():
        channels = _channels(user_ids=user_ids, kind=k, send_email=send_email)
        if not channels.stored:
            return []
        counters = _lock_counters(channels.visible) if channels.visible else {}
        now = timezone.now()  # after the lock: per user, created_at follows commit order
        notifications = [
            Notification(
                recipient_id=uid, kind=kind, title=title, body=body, data=data_json,
                target_content_type_id=ct_id, target_object_id=object_id,
                critical=k.critical, in_app=channels.prefs[uid][IN_APP], created_at=now,
            )
            for uid in channels.stored
        ]
        Notification.objects.bulk_create(notifications, batch_size=BATCH_SIZE)
        if channels.visible:
            _count_and_announce(notifications, visible=channels.visible, counters=counters, now=now)
        _queue_emails([n for n in notifications if channels.emails(n.recipient_id)], now=now)
    return notifications


def _checked_content(*, title: Any, body: Any, data: Any, target: Any) -> tuple[dict[str, Any], Any, str]:
    """Step 1 of :func:`notify`: check the content before any write. Returns ``(data as JSON,
    target content type id or None, target object id or "")``; raises ``ValueError``."""
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title must be a non-empty string")
    if len(title) > 200:
        raise ValueError("title must be at most 200 characters")
    if not isinstance(body, str):
        raise ValueError("body must be a string")
    if data is not None and not isinstance(data, Mapping):
        raise ValueError("data must be a mapping (JSON object) or None")
    try:
        data_json = to_jsonable(dict(data or {}))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data is not JSON-able: {exc}") from exc
    if target is None:
        return data_json, None, ""
    if not isinstance(target, models.Model) or target.pk is None or target._state.adding:
        raise ValueError("target must be a saved model instance")
    return data_json, ContentType.objects.get_for_model(target).pk, str(target.pk)


@dataclass(frozen=True)
class _Channels:
    """Where one notification goes, per recipient: ``prefs`` ``{user_id: {channel: on}}``,
    ``visible`` (in-app), ``stored`` (in-app or email), ``on_digest`` (email waits for the digest)."""

    prefs: dict[Any, dict[str, bool]]
    visible: list[Any]
    stored: list[Any]
    on_digest: set[Any]

    def emails(self, user_id: Any) -> bool:
        """True when ``user_id`` gets this notification by email now (not in the digest)."""
        return self.prefs[user_id][EMAIL] and user_id not in self.on_digest


def _channels(*, user_ids: list[Any], kind, send_email: bool) -> _Channels:
    """Step 2 of :func:`notify`: each recipient's channels for ``kind`` (a registered kind): their
    preferences, email off everywhere without ``send_email``, the daily digest for non-critical
    kinds. Two queries at most."""
    prefs = selectors.channel_preferences(user_ids=user_ids, kind=kind.name)
    if not send_email:
        for p in prefs.values():
            p[EMAIL] = False
    emailed = [uid for uid in user_ids if prefs[uid][EMAIL]]
    on_digest = selectors.digest_users(user_ids=emailed) if emailed and not kind.critical else set()
    return _Channels(
        prefs=prefs,
        visible=[uid for uid in user_ids if prefs[uid][IN_APP]],
        stored=[uid for uid in user_ids if prefs[uid][IN_APP] or prefs[uid][EMAIL]],
        on_digest=on_digest,
    )


def _count_and_announce(notifications: list[Notification], *, visible: list[Any], counters: dict, now) -> None:
    """Step 3 of :func:`notify`: the in-app recipients' counters go up by one (their rows are
    locked) and each gets ``notification.created`` then ``notification.counts`` after commit."""
    NotificationCounter.objects.filter(user_id__in=visible).update(
        unread=F("unread") + 1, unseen=F("unseen") + 1, updated_at=now
    )
    events = []
    for n in notifications:
        if not n.in_app:
            continue
        row = counters[n.recipient_id]
        row.unread += 1
        row.unseen += 1
        topic = USER_TOPIC.name(n.recipient_id)
        events.append((topic, NotificationCreated.build(notification=n)))
        events.append((topic, _counts_event(_counts(row))))
    _publish_many(events)


def _queue_emails(to_email: list[Notification], *, now) -> None:
    """Step 4 of :func:`notify`: one pending email delivery per notification, queued after
    commit."""
    if not to_email:
        return
    NotificationDelivery.objects.bulk_create(
        [NotificationDelivery(notification=n, channel=EMAIL, created_at=now) for n in to_email],
        batch_size=BATCH_SIZE,
    )
    transaction.on_commit(partial(enqueue_emails, [n.pk for n in to_email]), robust=True)


def enqueue_emails(notification_ids: list[Any]) -> None:
    """Queue one ``send_notification_email`` task per id (called after commit). A failure to
    queue one (broker down) is logged and the rest are still tried; the beat sweep
    (``requeue_stalled_emails``) queues what is still pending 10 minutes later."""
    from notifications.tasks import send_notification_email  # cycle-breaker: the task runs this module

    for nid in notification_ids:
        try:
            send_notification_email.delay(str(nid))
        except Exception:  # noqa: BLE001 - the delivery row stays pending for the sweep
            logger.exception("could not queue the email of notification %s", nid)


# --- inbox state -------------------------------------------------------------------------------

def _flags(n: Notification) -> tuple[int, int]:
    """(unread, unseen) contribution of ``n`` to its recipient's counts: 0 or 1 each."""
    visible = n.in_app and n.archived_at is None
    return int(visible and n.read_at is None), int(visible and n.seen_at is None)


def _change(*, user, notification_id: Any, apply: Callable[[Notification, datetime], list[str]]) -> Notification:
    pk = parse_uuid(notification_id)
    with transaction.atomic():
        counter = _lock_counter(user.pk)
        n = (
            Notification.objects.select_for_update().filter(pk=pk, recipient_id=user.pk, in_app=True).first()
            if pk else None
        )
        if n is None:
            raise NotFound("Notification not found.")
        before = _flags(n)
        changed = apply(n, timezone.now())
        if not changed:
            return n
        n.save(update_fields=changed)
        after = _flags(n)
        d_unread, d_unseen = after[0] - before[0], after[1] - before[1]
        topic = USER_TOPIC.name(user.pk)
        outbox.publish(topic=topic, event=NotificationUpdated.build(notification=n))
        if d_unread or d_unseen:
            NotificationCounter.objects.filter(pk=counter.pk).update(
                unread=F("unread") + d_unread, unseen=F("unseen") + d_unseen, updated_at=timezone.now()
            )
            counter.unread += d_unread
            counter.unseen += d_unseen
        outbox.publish(topic=topic, event=_counts_event(_counts(counter)))
    return n


def _read(n: Notification, now: datetime) -> list[str]:
    if n.read_at is not None:
        return []
    n.read_at = now
    if n.seen_at is None:
        n.seen_at = now
    return ["read_at", "seen_at"]


def _unread(n: Notification, now: datetime) -> list[str]:
    if n.read_at is None:
        return []
    n.read_at = None
    return ["read_at"]


def _archive(n: Notification, now: datetime) -> list[str]:
    if n.archived_at is not None:
        return []
    n.archived_at = now
    return ["archived_at"]


def _unarchive(n: Notification, now: datetime) -> list[str]:
    if n.archived_at is None:
        return []
    n.archived_at = None
    return ["archived_at"]


def mark_read(*, user, notification_id: Any) -> Notification:
    """Mark one of ``user``'s notifications read (and seen). Idempotent: an already read one is
    returned unchanged and publishes nothing. Otherwise publishes ``notification.updated`` then
    ``notification.counts`` to every socket of the user. Raises ``NotFound`` for an unknown id or
    another user's notification (nothing changes)."""
    return _change(user=user, notification_id=notification_id, apply=_read)


def mark_unread(*, user, notification_id: Any) -> Notification:
    """Mark one notification unread again (``seen_at`` is kept). Same events and errors as
    :func:`mark_read`."""
    return _change(user=user, notification_id=notification_id, apply=_unread)


def archive(*, user, notification_id: Any) -> Notification:
    """Archive one notification: it leaves the inbox and the counts. Same events and errors as
    :func:`mark_read`."""
    return _change(user=user, notification_id=notification_id, apply=_archive)


def unarchive(*, user, notification_id: Any) -> Notification:
    """Bring an archived notification back to the inbox. Same events and errors as :func:`mark_read`."""
    return _change(user=user, notification_id=notification_id, apply=_unarchive)


def _settle_counts(*, user_id: Any, counter: NotificationCounter) -> tuple[dict[str, int], bool]:
    """Set the (locked) counter to the truth; returns (counts, changed)."""
    truth = selectors.true_counts(user_id=user_id)
    changed = truth != _counts(counter)
    if changed:
        NotificationCounter.objects.filter(pk=counter.pk).update(**truth, updated_at=timezone.now())
        counter.unread, counter.unseen = truth["unread"], truth["unseen"]
    return truth, changed


def mark_all_read(*, user) -> dict[str, Any]:
    """Mark every unread, non-archived notification of ``user`` read (and seen).

    Returns ``{"updated": n, "counts": {"unread", "unseen"}}`` (counts recomputed from the rows,
    which also repairs a drifted counter). When something changed, publishes
    ``notification.read_all`` ``{"read_at", "count"}`` then ``notification.counts`` to every
    socket of the user.
    """
    with transaction.atomic():
        counter = _lock_counter(user.pk)
        now = timezone.now()
        updated = Notification.objects.filter(
            recipient_id=user.pk, in_app=True, archived_at__isnull=True, read_at__isnull=True
        ).update(read_at=now, seen_at=Coalesce("seen_at", now))
        counts, changed = _settle_counts(user_id=user.pk, counter=counter)
        topic = USER_TOPIC.name(user.pk)
        if updated:
            outbox.publish(topic=topic, event=NotificationReadAll.build(read_at=now, count=updated))
        if updated or changed:
            outbox.publish(topic=topic, event=_counts_event(counts))
    return {"updated": updated, "counts": counts}


def mark_seen(*, user) -> dict[str, Any]:
    """The bell was opened: every visible notification of ``user`` is now seen (``unseen`` → 0).

    Returns ``{"updated": n, "counts": {"unread", "unseen"}}``; when something changed, publishes
    ``notification.seen_all`` ``{"seen_at", "count"}`` (if notifications were marked) then
    ``notification.counts``.
    """
    with transaction.atomic():
        counter = _lock_counter(user.pk)
        now = timezone.now()
        updated = Notification.objects.filter(
            recipient_id=user.pk, in_app=True, archived_at__isnull=True, seen_at__isnull=True
        ).update(seen_at=now)
        counts, changed = _settle_counts(user_id=user.pk, counter=counter)
        topic = USER_TOPIC.name(user.pk)
        if updated:
            outbox.publish(topic=topic, event=NotificationSeenAll.build(seen_at=now, count=updated))
        if updated or changed:
            outbox.publish(topic=topic, event=_counts_event(counts))
    return {"updated": updated, "counts": counts}


def recount(*, user_ids: Iterable[Any]) -> int:
    """Repair tool (admin action): set each user's counter to the truth and publish the counts
    where they differed. Returns how many counters changed."""
    fixed = 0
    for uid in sorted(set(user_ids), key=str):
        with transaction.atomic():
            counter = _lock_counter(uid)
            counts, changed = _settle_counts(user_id=uid, counter=counter)
            if changed:
                fixed += 1
                outbox.publish(topic=USER_TOPIC.name(uid), event=_counts_event(counts))
    return fixed


# --- preferences -------------------------------------------------------------------------------

def update_preferences(
    *, user, channels: Mapping[str, Mapping[str, Any]] | None = None, email_digest: bool | None = None
) -> dict[str, Any]:
    """Change ``user``'s preferences; all or nothing.

    ``channels``: ``{kind: {channel: bool}}`` (e.g. ``{"auction.outbid": {"email": False}}``);
    kinds or channels not mentioned keep their value. ``email_digest``: True → one daily email of
    what stayed unread instead of one email per notification (critical kinds still email at once).

    Returns the new preferences (shape of ``selectors.preferences_for``). Raises
    ``ApplicationError`` (400) with ``fields`` = ``{"channels": {kind: [message]}}`` and code
    ``unknown_kind`` (unregistered kind), ``unknown_channel`` (not ``in_app``/``email``),
    ``critical_kind`` (switching off a critical kind) or ``invalid`` (a value that is not a bool).
    """
    channels = channels or {}
    if not isinstance(channels, Mapping):
        raise ApplicationError("channels must be an object {kind: {channel: bool}}.", fields={"channels": ["Expected an object."]})
    errors: dict[str, list[str]] = {}
    codes: list[str] = []
    rows: list[NotificationPreference] = []

    def refuse(kind_name: str, code: str, message: str) -> None:
        errors.setdefault(str(kind_name), []).append(message)
        codes.append(code)

    for kind_name, values in channels.items():
        if not is_registered(kind_name):
            refuse(kind_name, "unknown_kind", f"Unknown notification kind {kind_name!r}.")
            continue
        if not isinstance(values, Mapping):
            refuse(kind_name, "invalid", "Expected an object {channel: bool}.")
            continue
        k = get_kind(kind_name)
        for channel, enabled in values.items():
            if channel not in CHANNELS:
                refuse(kind_name, "unknown_channel", f"Unknown channel {channel!r}; channels are {', '.join(CHANNELS)}.")
            elif not isinstance(enabled, bool):
                refuse(kind_name, "invalid", f"{channel}: expected true or false.")
            elif k.critical and not enabled:
                refuse(kind_name, "critical_kind", f"{kind_name} is critical and cannot be switched off ({channel}).")
            elif not k.critical:
                rows.append(NotificationPreference(user=user, kind=kind_name, channel=channel, enabled=enabled))
    if email_digest is not None and not isinstance(email_digest, bool):
        errors["email_digest"] = ["Expected true or false."]
        codes.append("invalid")
    if errors:
        first = next(iter(errors.values()))[0]
        fields = {"channels": {k: v for k, v in errors.items() if k != "email_digest"}}
        if "email_digest" in errors:
            fields["email_digest"] = errors["email_digest"]
        if not fields["channels"]:
            del fields["channels"]
        raise ApplicationError(first, code=codes[0], fields=fields)

    with transaction.atomic():
        if rows:
            NotificationPreference.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["user", "kind", "channel"],
                update_fields=["enabled", "updated_at"],
            )
        if email_digest is not None:
            NotificationSettings.objects.update_or_create(user=user, defaults={"email_digest": email_digest})
    return selectors.preferences_for(user=user)


# --- email -------------------------------------------------------------------------------------

def deliver_email(*, notification_id: Any) -> str:
    """Send the email of one notification, at most once.

    Claims the notification's email :class:`NotificationDelivery` row with ``SELECT … FOR UPDATE
    SKIP LOCKED`` and holds it while sending, so a duplicated or concurrent task finds it locked
    (returns ``"busy"``) or already ``sent``. Re-checks at send time: a user who has since switched
    the kind's email off, is inactive or has no address is ``skipped``.

    Returns the outcome: ``"sent"``, ``"skipped"``, ``"busy"`` or ``"missing"`` (no email was
    queued for it), or the stored status when already final. Raises the transport error (one of
    :data:`TRANSPORT_ERRORS`) after recording the attempt as ``failed``; the Celery task retries.
    """
    failure: BaseException | None = None
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification__recipient")
            .filter(notification_id=notification_id, channel=EMAIL)
            .first()
        )
        if delivery is None:
            exists = NotificationDelivery.objects.filter(notification_id=notification_id, channel=EMAIL).exists()
            return "busy" if exists else "missing"
        if delivery.status in (NotificationDelivery.Status.SENT, NotificationDelivery.Status.SKIPPED):
            return delivery.status
        n = delivery.notification
        user = n.recipient
        reason = ""
        if not user.is_active or not user.email:
            reason = "recipient inactive or without email"
        elif not n.critical and not selectors.channel_enabled(user_id=user.pk, kind=n.kind, channel=EMAIL):
            reason = "email switched off for this kind"
        if reason:
            delivery.status = NotificationDelivery.Status.SKIPPED
            delivery.last_error = reason
            delivery.save(update_fields=["status", "last_error"])
            return delivery.status
        message = emails.notification_message(n)
        delivery.attempts += 1
        try:
            message.send()
        except TRANSPORT_ERRORS as exc:
            delivery.status = NotificationDelivery.Status.FAILED
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            failure = exc
        else:
            delivery.status = NotificationDelivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        delivery.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    if failure is not None:
        logger.warning("email of notification %s failed (attempt %s): %s", notification_id, delivery.attempts, failure)
        raise failure
    return delivery.status


def email_address(*, to: str, template: str, context: Mapping[str, Any]) -> None:
    """E-mail the address ``to`` (not an account: e.g. an invitation to someone who may have
    none), rendered now from ``<template>.{subject.txt,txt,html}`` (``emails.address_message``)
    and sent by the Celery task ``notifications.tasks.send_address_email`` queued after the
    caller's transaction commits (nothing is sent when it rolls back); transport errors are retried
    like notification e-mails. ``context`` must be JSON-able (the task carries the rendered
    message, not the context). Never raises for a delivery failure: a broker that cannot take the
    task is logged."""
    message = emails.address_message(to=to, template=template, context=dict(context))
    html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), "")
    parts = {"to": to, "subject": message.subject, "text": message.body, "html": html}
    transaction.on_commit(partial(_enqueue_address_email, parts), robust=True)


def _enqueue_address_email(parts: dict[str, str]) -> None:
    from notifications.tasks import send_address_email  # cycle-breaker: the task runs this module

    try:
        send_address_email.delay(parts)
    except Exception:  # noqa: BLE001 - the caller's change stands; the sender may ask again
        logger.exception("could not queue an e-mail to an address")


def send_address_message(*, parts: Mapping[str, str]) -> None:
    """Send one message rendered by :func:`email_address` (``{"to", "subject", "text",
    "html"}``). Raises the transport error (one of :data:`TRANSPORT_ERRORS`) for the task's
    retry."""
    message = EmailMultiAlternatives(subject=parts["subject"], body=parts["text"],
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[parts["to"]])
    if parts.get("html"):
        message.attach_alternative(parts["html"], "text/html")
    message.send()


def stalled_email_ids(*, older_than: timedelta = timedelta(minutes=10), limit: int = 1000) -> list[str]:
    """Ids of notifications whose email is still ``pending`` after ``older_than`` (its task was
    lost, e.g. the broker was down at commit); the beat task queues them again."""
    cutoff = timezone.now() - older_than
    return [
        str(nid)
        for nid in NotificationDelivery.objects.filter(
            channel=EMAIL, status=NotificationDelivery.Status.PENDING, created_at__lt=cutoff
        ).values_list("notification_id", flat=True)[:limit]
    ]


def send_digest(*, user_id: Any, now: datetime | None = None) -> EmailDigest | None:
    """Send ``user_id`` the daily digest of notifications that stayed unread; at most one per
    :data:`DIGEST_MIN_INTERVAL`, each notification in at most one digest.

    Runs under a ``SKIP LOCKED`` lock of the user's settings row (a concurrent run returns None).
    The digest, its delivery rows (status ``sent``) and ``last_digest_at`` commit only if the email
    was handed to the transport; a transport error rolls them back and is raised (retry).
    Returns the :class:`EmailDigest`, or None when the user is not on the digest, got one recently,
    or has nothing unread to list.
    """
    now = now or timezone.now()
    with transaction.atomic():
        st = (
            NotificationSettings.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(user_id=user_id, email_digest=True)
            .first()
        )
        if st is None or not st.user.is_active or not st.user.email:
            return None
        if st.last_digest_at and now - st.last_digest_at < DIGEST_MIN_INTERVAL:
            return None
        since = st.last_digest_at - DIGEST_OVERLAP if st.last_digest_at else now - DIGEST_FIRST_LOOKBACK
        items = selectors.digest_candidates(user_id=user_id, since=since, until=now)
        if not items:
            return None
        digest = EmailDigest.objects.create(user_id=user_id, notification_count=len(items), created_at=now, sent_at=now)
        NotificationDelivery.objects.bulk_create(
            [
                NotificationDelivery(
                    notification=n, channel=EMAIL, status=NotificationDelivery.Status.SENT,
                    digest=digest, attempts=1, created_at=now, sent_at=now,
                )
                for n in items
            ],
            batch_size=BATCH_SIZE,
        )
        st.last_digest_at = now
        st.save(update_fields=["last_digest_at", "updated_at"])
        emails.digest_message(user=st.user, notifications=items).send()
    return digest
