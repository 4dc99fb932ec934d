"""The notification event types (``realtime.events``), on the recipient's ``user:`` topic.

A client keeps its inbox and bell counts with them: ``notification.created`` adds an item,
``notification.updated`` changes one item's state, ``notification.read_all`` marks every unread
item read, ``notification.seen_all`` every unseen one seen, and ``notification.counts`` (after
every change) is the truth for the bell.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Event, EventSchema, Payload, Timestamp, Topics
from realtime.user_topic import USER_TOPIC

from notifications.models import Notification
from notifications.payloads import notification_dict, state_dict


class NotificationTarget(Payload):
    type: str = Field(description='"<app_label>.<model>", e.g. commerce.order')
    id: str


class NotificationCreated(EventSchema):
    """A new notification in the user's inbox (the item as ``GET /api/v1/notifications/``
    lists it)."""

    type: ClassVar[str] = "notification.created"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    id: UUID
    kind: str = Field(description="a registered kind, e.g. order.status_changed (GET /api/v1/notifications/kinds/)")
    title: str
    body: str
    data: dict[str, Any] = Field(description="what the client needs to deep-link (ids, a site-relative url)")
    target: NotificationTarget | None
    critical: bool
    created_at: Timestamp
    seen_at: Timestamp | None
    read_at: Timestamp | None
    archived_at: Timestamp | None

    @classmethod
    def build(cls, *, notification: Notification) -> Event:
        return cls.event(notification_dict(notification))


class NotificationUpdated(EventSchema):
    """One notification was read, marked unread, archived or unarchived: its new state."""

    type: ClassVar[str] = "notification.updated"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    id: UUID
    seen_at: Timestamp | None
    read_at: Timestamp | None
    archived_at: Timestamp | None

    @classmethod
    def build(cls, *, notification: Notification) -> Event:
        return cls.event(state_dict(notification))


class NotificationReadAll(EventSchema):
    """"Mark all read": every unread, not archived notification is read (and seen) as of
    ``read_at``; ``count`` of them changed."""

    type: ClassVar[str] = "notification.read_all"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    read_at: Timestamp
    count: Count

    @classmethod
    def build(cls, *, read_at: datetime, count: int) -> Event:
        return cls.event({"read_at": read_at, "count": count})


class NotificationSeenAll(EventSchema):
    """The bell was opened: every notification of the inbox not archived and not yet seen is
    seen as of ``seen_at``; ``count`` of them changed."""

    type: ClassVar[str] = "notification.seen_all"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    seen_at: Timestamp
    count: Count

    @classmethod
    def build(cls, *, seen_at: datetime, count: int) -> Event:
        return cls.event({"seen_at": seen_at, "count": count})


class NotificationCounts(EventSchema):
    """The bell's counts after a change (the committed truth; the ``user:`` snapshot's
    ``notifications``)."""

    type: ClassVar[str] = "notification.counts"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    unread: Count
    unseen: Count

    @classmethod
    def build(cls, *, unread: int, unseen: int) -> Event:
        return cls.event({"unread": unread, "unseen": unseen})
