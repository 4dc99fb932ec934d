"""The ``user:<user_id>`` topic: a user's private feed (notifications, order status, wallet,
unread counts). Only the owner may subscribe. It belongs to the gateway, not to a domain: it
knows only who is signed in. Apps add to its snapshot by registering a provider with
:func:`add_snapshot_provider` (e.g. notifications adds ``{"notifications": {"unread": 3}}``) and
publish to it through ``realtime.outbox`` with :data:`USER_TOPIC` (its name builder) and their
own event types, each declaring ``USER_TOPIC`` among its ``topics``. Registered by
``RealtimeConfig.ready``."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from pydantic import Field

from core.permissions import is_account_owner
from realtime.events import Event, EventSchema, TopicKind, Topics
from realtime.registry import Topic, register

#: ``user:<user_id>``: a user's private feed
USER_TOPIC = TopicKind("user", key="the user's id", description="a user's private feed: only that user subscribes")

_providers: list[Callable[..., dict[str, Any]]] = []


def add_snapshot_provider(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Register ``fn(*, user) -> dict`` whose keys are merged into the ``user:`` snapshot."""
    _providers.append(fn)
    return fn


@register
class UserTopic(Topic):
    kind = USER_TOPIC.kind
    track_presence = True  # "is this user online?" (realtime.presence.present_user_ids)

    def authorize(self, *, user, key: str) -> bool:
        return is_account_owner(user, key)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        data: dict[str, Any] = {"user_id": str(user.pk)}
        for fn in _providers:
            data.update(fn(user=user))
        return data


class SystemAnnouncement(EventSchema):
    """An operator's message to a user (``manage.py realtime_publish user:<id> system.announcement
    --data '{"text": "..."}'``), e.g. planned maintenance."""

    type: ClassVar[str] = "system.announcement"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    text: str = Field(min_length=1, max_length=1000)

    @classmethod
    def build(cls, *, text: str) -> Event:
        return cls.event({"text": text})
