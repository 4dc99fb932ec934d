"""Notifications on the ``user:<user_id>`` topic (owned by ``realtime.user_topic``).

The topic's snapshot gains ``{"notifications": {"unread": n, "unseen": m}}``; the events
(``notification.created``, ``notification.updated``, ``notification.read_all``,
``notification.counts``) are published by :mod:`notifications.services` through the outbox.
"""

from __future__ import annotations

from typing import Any

from realtime.user_topic import add_snapshot_provider
from notifications import selectors


@add_snapshot_provider
def notification_counts_snapshot(*, user) -> dict[str, Any]:
    """``{"notifications": {"unread", "unseen"}}`` for a fresh subscriber of ``user:<id>``."""
    return {"notifications": selectors.counts(user=user)}
