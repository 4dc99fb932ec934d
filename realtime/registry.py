"""The gateway's topic registry: each app declares its topics here; the gateway knows no domain.

A topic name is ``<kind>:<key>`` (``cart:<user_id>``, ``auction:<auction_id>``). An app subclasses
:class:`Topic` for its kind and registers it (usually in ``<app>/realtime.py``, imported by the
app's ``AppConfig.ready``)::

    @register
    class CartTopic(Topic):
        kind = "cart"

        def authorize(self, *, user, key):          # may this user subscribe / send commands?
            return str(user.pk) == key

        def snapshot(self, *, user, key):           # JSON-able state for a fresh subscriber
            return cart_snapshot(user=user)

        @command("add_item")
        def add_item(self, *, user, key, data):     # data: the frame's "data" object
            return add_item_to_cart(user=user, **validated(data))   # JSON-able reply data

The methods are synchronous and may use the ORM: the gateway runs them through
``database_sync_to_async``. They raise ``core.exceptions.ApplicationError`` (or DRF's
``ValidationError``) to refuse; the gateway turns that into an error reply with its code.
Commands are authorised twice: the topic's ``authorize`` first, then whatever per-object check
the service itself makes.

A command may instead be an ``async def`` method: the gateway awaits it on the event loop,
without the thread hop and without calling ``authorize``, for hot paths that never touch the
database on their way (a courier's ``location``: ``delivery.realtime``). Such a handler
authorises the user itself, must never block the loop (an asyncio client for Redis;
``database_sync_to_async`` for ORM work) and refuses with the same exceptions.
"""

from __future__ import annotations

import re
from typing import Any, Callable

TOPIC_RE = re.compile(r"^(?P<kind>[a-z][a-z0-9_]{0,31}):(?P<key>[A-Za-z0-9_\-]{1,64})$")

CommandFn = Callable[..., Any]


def command(name: str, *, bucket: str = "commands") -> Callable[[CommandFn], CommandFn]:
    """Mark a :class:`Topic` method as the handler of command ``name``.

    ``bucket`` names the per-connection rate limit the command draws from (``commands`` is the
    default 20 burst / 100 per minute; an app may declare its own in ``Topic.buckets``).
    """

    def mark(fn: CommandFn) -> CommandFn:
        fn._realtime_command = name  # type: ignore[attr-defined]
        fn._realtime_bucket = bucket  # type: ignore[attr-defined]
        return fn

    return mark


class Topic:
    """Base class of a topic kind. Subclasses set ``kind`` and override the methods below."""

    kind: str = ""
    #: extra rate-limit buckets: {name: (burst, per_minute)}
    buckets: dict[str, tuple[int, int]] = {}
    #: keep ``realtime.presence`` up to date for this kind (who has a socket on the topic)
    track_presence: bool = False

    def __init__(self) -> None:
        self.commands: dict[str, tuple[CommandFn, str]] = {}
        for attr in dir(type(self)):
            fn = getattr(self, attr, None)
            name = getattr(fn, "_realtime_command", None)
            if name:
                self.commands[name] = (fn, getattr(fn, "_realtime_bucket", "commands"))

    def authorize(self, *, user, key: str) -> bool:
        """May ``user`` subscribe to (and command) ``<kind>:<key>``? Default: no."""
        return False

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        """The topic's current state for ``user`` as JSON-able data. Default: empty."""
        return {}


_registry: dict[str, Topic] = {}


def register(topic_cls: type[Topic]) -> type[Topic]:
    """Register a Topic subclass (usable as a class decorator). Re-registering a kind replaces it."""
    if not topic_cls.kind or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", topic_cls.kind):
        raise ValueError(f"bad topic kind {topic_cls.kind!r}")
    _registry[topic_cls.kind] = topic_cls()
    return topic_cls


def get_topic(kind: str) -> Topic | None:
    """The registered Topic for ``kind``, or None."""
    return _registry.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_registry)


def parse_topic(topic: Any) -> tuple[str, str] | None:
    """Split ``"<kind>:<key>"`` into (kind, key); None when malformed."""
    if not isinstance(topic, str):
        return None
    m = TOPIC_RE.match(topic)
    return (m["kind"], m["key"]) if m else None
