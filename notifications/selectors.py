"""Reads of notifications: the inbox, counts, preferences, digest candidates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from core.exceptions import NotFound
from core.utils import parse_uuid
from notifications.kinds import CHANNELS, EMAIL, all_kinds, get_kind, is_registered
from notifications.models import Notification, NotificationCounter, NotificationPreference, NotificationSettings



def inbox(*, user) -> QuerySet[Notification]:
    """Every notification ``user`` may see (their own, in-app), newest first, archived included."""
    return Notification.objects.filter(recipient=user, in_app=True).order_by("-created_at", "-id")


def notification_list(
    *, user, unread: bool | None = None, archived: bool | None = False, kinds: Iterable[str] | None = None
) -> QuerySet[Notification]:
    """The inbox of ``user``, newest first.

    ``unread``: True → only unread, False → only read, None → both. ``archived``: False (default)
    → the inbox without archived ones, True → only archived, None → both. ``kinds``: only these
    kinds (unknown names simply match nothing).
    """
    qs = inbox(user=user)
    if unread is not None:
        qs = qs.filter(read_at__isnull=unread)
    if archived is not None:
        qs = qs.filter(archived_at__isnull=not archived)
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    return qs


def notification_get(*, user, notification_id: Any) -> Notification:
    """One of ``user``'s visible notifications. Raises ``NotFound`` (404, ``not_found``) for an
    unknown id or someone else's notification: the two are indistinguishable to the caller."""
    pk = parse_uuid(notification_id)
    n = inbox(user=user).filter(pk=pk).first() if pk else None
    if n is None:
        raise NotFound("Notification not found.")
    return n


def counts(*, user) -> dict[str, int]:
    """``{"unread": n, "unseen": m}`` of ``user``'s inbox from the counter row (one query)."""
    row = NotificationCounter.objects.filter(user_id=user.pk).values("unread", "unseen").first()
    return {"unread": row["unread"], "unseen": row["unseen"]} if row else {"unread": 0, "unseen": 0}


def true_counts(*, user_id: Any) -> dict[str, int]:
    """``{"unread", "unseen"}`` counted from the notifications themselves (one aggregate query);
    what the counter row must equal."""
    agg = Notification.objects.filter(recipient_id=user_id, in_app=True, archived_at__isnull=True).aggregate(
        unread=Count("pk", filter=Q(read_at__isnull=True)),
        unseen=Count("pk", filter=Q(seen_at__isnull=True)),
    )
    return {"unread": agg["unread"], "unseen": agg["unseen"]}


# --- preferences -------------------------------------------------------------------------------

def channel_preferences(*, user_ids: Iterable[Any], kind: str) -> dict[Any, dict[str, bool]]:
    """``{user_id: {"in_app": bool, "email": bool}}`` for ``kind`` (defaults plus each user's
    choices; critical kinds are always on). One query, whatever the number of users. Raises
    ``UnknownNotificationKind`` for an unregistered kind."""
    k = get_kind(kind)
    ids = list(user_ids)
    result = {uid: {ch: k.default_for(ch) for ch in CHANNELS} for uid in ids}
    if k.critical or not ids:
        return result
    for user_id, channel, enabled in NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list(
        "user_id", "channel", "enabled"
    ):
        if channel in CHANNELS and user_id in result:
            result[user_id][channel] = enabled
    return result


def channel_enabled(*, user_id: Any, kind: str, channel: str) -> bool:
    """Whether ``channel`` is on for ``user_id`` and ``kind`` now (one query at most). An
    unregistered kind (e.g. one an app stopped registering) gives False."""
    if not is_registered(kind):
        return False
    return channel_preferences(user_ids=[user_id], kind=kind)[user_id][channel]


def digest_users(*, user_ids: Iterable[Any]) -> set[Any]:
    """Those of ``user_ids`` who chose the daily digest instead of one email each (one query)."""
    ids = list(user_ids)
    if not ids:
        return set()
    return set(NotificationSettings.objects.filter(user_id__in=ids, email_digest=True).values_list("user_id", flat=True))


def preferences_for(*, user) -> dict[str, Any]:
    """The preferences screen of ``user`` (two queries)::

        {"email_digest": bool,
         "kinds": [{"kind", "description", "critical", "channels": {"in_app": bool, "email": bool},
                    "defaults": {"in_app": bool, "email": bool}}, ...]}   (sorted by kind)
    """
    chosen: dict[tuple[str, str], bool] = {
        (k, c): e
        for k, c, e in NotificationPreference.objects.filter(user=user).values_list("kind", "channel", "enabled")
    }
    kinds = []
    for k in all_kinds():
        defaults = {ch: k.default_for(ch) for ch in CHANNELS}
        channels = {ch: True if k.critical else chosen.get((k.name, ch), defaults[ch]) for ch in CHANNELS}
        kinds.append(
            {"kind": k.name, "description": k.description, "critical": k.critical, "channels": channels, "defaults": defaults}
        )
    digest = NotificationSettings.objects.filter(user=user).values_list("email_digest", flat=True).first()
    return {"email_digest": bool(digest), "kinds": kinds}


def email_kinds_for(*, user_id: Any) -> set[str]:
    """Registered kinds whose email channel is on for ``user_id`` (one query)."""
    chosen = dict(
        NotificationPreference.objects.filter(user_id=user_id, channel=EMAIL).values_list("kind", "enabled")
    )
    return {k.name for k in all_kinds() if k.critical or chosen.get(k.name, k.default_for(EMAIL))}


# --- digest ------------------------------------------------------------------------------------

def digest_candidates(*, user_id: Any, since: datetime, until: datetime) -> list[Notification]:
    """Notifications of ``user_id`` for the digest, oldest first: created in (since, until],
    still unread and not archived, of a kind whose email is on, never emailed (no email delivery
    row, so none is in an earlier digest). Critical ones are excluded: they are emailed at once."""
    return list(
        Notification.objects.filter(
            recipient_id=user_id,
            read_at__isnull=True,
            archived_at__isnull=True,
            critical=False,
            created_at__gt=since,
            created_at__lte=until,
            kind__in=email_kinds_for(user_id=user_id),
        )
        .exclude(deliveries__channel=EMAIL)
        .order_by("created_at", "id")
    )


def digest_user_ids() -> list[Any]:
    """Active users with an email address who chose the daily digest."""
    return list(
        NotificationSettings.objects.filter(email_digest=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user_id", flat=True)
    )
