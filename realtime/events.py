"""Typed events: the one vocabulary every app publishes with.

Two things are declared by the module that owns them (``<app>/events.py``, see
docs/architecture.md, "Events"):

* a :class:`TopicKind` — a kind's **name builder**: ``CART_TOPIC.name(user_id) -> "cart:<id>"``.
  No topic name is written by hand anywhere else (``tests/realtime/test_events.py`` checks the
  source). The gateway's handler of the kind (``realtime.registry.Topic``) says ``kind =
  CART_TOPIC.kind``.
* an :class:`EventSchema` subclass per event type — the payload's **schema** (a pydantic v2
  model: it validates the JSON that goes on the wire and gives the JSON Schema that
  ``docs/asyncapi.yaml`` carries, ``manage.py asyncapi``) and its **one builder**, a classmethod
  ``build(...)`` that returns an :class:`Event`. The class is named after the type in CamelCase
  (``cart.updated`` -> ``CartUpdated``: the one naming style, checked when the class is made) and
  lists the topic kinds it may be published on::

      class CartUpdated(EventSchema):
          type: ClassVar[str] = "cart.updated"
          topics: ClassVar[Topics] = (CART_TOPIC,)

          id: UUID
          version: int
          ...

          @classmethod
          def build(cls, data: dict) -> Event:
              return cls.event(data)

Publishing goes through ``realtime.outbox.publish(topic=..., event=...)`` /
``publish_many`` (stored, sequenced, replayable) or ``realtime.ephemeral.send`` (typing: relayed
only) — the one door each. Both call :func:`check`: the topic must be well formed and of a kind
the event type lists, and an ephemeral type goes only through the ephemeral door (and the
reverse); a mismatch raises ``ValueError`` before anything is written.

Validation. With ``REALTIME["VALIDATE_EVENTS"]`` on (the test settings and development; default
``DEBUG``), :func:`check` also validates the event's JSON against its schema, strictly (JSON
types exactly, no unknown field: ``extra="forbid"``), and raises :class:`InvalidEvent` — every
process honours it, Daphne and Celery included. In production it is off: a schema bug must not
roll back a user's action (cost measured in ``bench/results/event_validation.md``). With the
environment variable ``REALTIME_EVENT_LOG`` set to a file, every checked event is also recorded
there (``<pid>\\t<type>\\tok|invalid\\t<detail>``): the test session sets it and fails on any
``invalid`` line, from whichever process (``tests/conftest.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from django.conf import settings
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from realtime.jsonutil import dumps, to_jsonable
from realtime.registry import TOPIC_RE, parse_topic

#: one kind name: lower case, as in ``<kind>:<key>``
KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

#: ``cart.updated``, ``order.status_changed``: ``<noun>.<snake_case>``
TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class InvalidEvent(ValueError):
    """An event whose data does not match its schema (raised only while validation is on)."""


class TopicKind:
    """A topic kind: its name builder and the event types published on it.

    ``kind``: the part before the colon; ``key``: what the part after it is (documentation,
    e.g. ``"the owner's user id"``). Declared once, by the module that owns the kind; declaring a
    kind twice raises ``ValueError``."""

    def __init__(self, kind: str, *, key: str, description: str = "") -> None:
        if not KIND_RE.match(kind):
            raise ValueError(f"bad topic kind {kind!r}")
        if kind in _kinds:
            raise ValueError(f"topic kind {kind!r} is declared twice")
        self.kind = kind
        self.key = key
        self.description = description
        _kinds[kind] = self

    def name(self, key: Any) -> str:
        """``"<kind>:<key>"`` (UUIDs and ints as their string form). Raises ``ValueError`` when the
        key is not 1–64 characters of ``A-Z a-z 0-9 _ -``."""
        name = f"{self.kind}:{key}"
        if not TOPIC_RE.match(name):
            raise ValueError(f"malformed {self.kind} topic key {key!r}")
        return name

    @property
    def events(self) -> list[type[EventSchema]]:
        """The event types that may be published on this kind, by type name."""
        return [cls for type_, cls in sorted(_events.items()) if cls.topics is not None and self in cls.topics]

    def __repr__(self) -> str:
        return f"TopicKind({self.kind!r})"


Topics = tuple[TopicKind, ...]

_kinds: dict[str, TopicKind] = {}
_events: dict[str, type[EventSchema]] = {}


def topic_kinds() -> list[TopicKind]:
    """Every declared topic kind, by name."""
    return [_kinds[k] for k in sorted(_kinds)]


def get_topic_kind(kind: str) -> TopicKind | None:
    return _kinds.get(kind)


def event_types() -> list[type[EventSchema]]:
    """Every declared event type, by type name."""
    return [_events[t] for t in sorted(_events)]


def get_event_type(type_: str) -> type[EventSchema] | None:
    return _events.get(type_)


def camel_name(type_: str) -> str:
    """The class name an event type must have: ``chat.message_updated`` -> ``ChatMessageUpdated``."""
    return "".join(part.capitalize() for part in re.split(r"[._]", type_))


class Payload(BaseModel):
    """Base of every payload model (an event's data and the objects nested in it): unknown
    fields are refused, so a schema is the whole truth about what goes on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True)


class EventSchema(Payload):
    """Base of an event type: subclass it, set ``type`` and ``topics``, declare the fields of
    ``data``, write ``build``. A subclass without its own ``type`` is an abstract base (shared
    fields); one with it is registered when the class is made. ``topics = None`` marks a control
    event the gateway itself sends (``subscription.revoked``): documented, never published.
    ``ephemeral = True``: relayed only (``realtime.ephemeral``), no seq, no replay."""

    type: ClassVar[str]
    topics: ClassVar[Topics | None]
    ephemeral: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        type_ = cls.__dict__.get("type")
        if type_ is None:
            return
        if not TYPE_RE.match(type_):
            raise TypeError(f"event type {type_!r} is not '<noun>.<snake_case>'")
        if cls.__name__ != camel_name(type_):
            raise TypeError(f"the class of event type {type_!r} must be named {camel_name(type_)}, not {cls.__name__}")
        topics = getattr(cls, "topics", ())
        if topics is not None and (not topics or not all(isinstance(t, TopicKind) for t in topics)):
            raise TypeError(f"{cls.__name__}.topics must list the TopicKinds it is published on")
        if not (cls.__doc__ or "").strip():
            raise TypeError(f"{cls.__name__} needs a docstring (it is the event's description in docs/asyncapi.yaml)")
        previous = _events.get(type_)
        if previous is not None and (previous.__module__, previous.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(f"event type {type_!r} is declared twice ({previous.__module__} and {cls.__module__})")
        _events[type_] = cls

    @classmethod
    def event(cls, data: Mapping[str, Any]) -> Event:
        """An :class:`Event` of this type with ``data`` made JSON-able (Decimals as strings,
        datetimes ISO 8601 UTC, UUIDs as strings): what a ``build`` returns."""
        return Event(cls, to_jsonable(dict(data)))


@dataclass(frozen=True, slots=True)
class Event:
    """One event ready to publish: its ``schema`` (the event type's class) and its JSON-able
    ``data``. Made by the type's ``build`` (through :meth:`EventSchema.event`)."""

    schema: type[EventSchema]
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return self.schema.type


# --- shared field types ----------------------------------------------------------------------

#: an amount as the wire carries it: a decimal string with two places (``"12.50"``)
Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["12.50"])]

#: ISO 4217 code
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]

#: an aware time, sent as ISO 8601 UTC (``2026-11-22T10:00:00.123Z``)
Timestamp = AwareDatetime

#: a count (never negative)
Count = Annotated[int, Field(ge=0)]


def one_of(values: Iterable[str]) -> Any:
    """A ``Literal`` of ``values`` (e.g. a model's ``choices``): the schema's ``enum``."""
    return Literal[tuple(values)]


# --- checks ----------------------------------------------------------------------------------


def validation_enabled() -> bool:
    return bool(settings.REALTIME.get("VALIDATE_EVENTS", False))


def check(topic: Any, event: Event, *, ephemeral: bool = False) -> None:
    """Refuse (``ValueError``) an event published where it does not belong: a malformed topic, a
    kind the type does not list, an ephemeral type through the outbox or the reverse, a control
    event. With validation on, also validate ``event.data`` (:class:`InvalidEvent`)."""
    if not isinstance(event, Event) or _events.get(event.type) is not event.schema:
        raise ValueError(f"not an event of a declared type: {event!r}")
    parsed = parse_topic(topic)
    if parsed is None:
        raise ValueError(f"malformed topic {topic!r}")
    schema = event.schema
    if schema.topics is None:
        raise ValueError(f"{schema.type} is sent by the gateway, not published")
    if parsed[0] not in {t.kind for t in schema.topics}:
        raise ValueError(f"{schema.type} is not published on {parsed[0]}: topics "
                         f"(only on {', '.join(t.kind + ':' for t in schema.topics)})")
    if schema.ephemeral != ephemeral:
        door = "realtime.ephemeral.send" if schema.ephemeral else "realtime.outbox.publish"
        raise ValueError(f"{schema.type} is published through {door}")
    if validation_enabled():
        validate(event)


def validate(event: Event) -> None:
    """Validate ``event.data``, as JSON text, strictly against its schema. Raises
    :class:`InvalidEvent` naming the type and each error's location. Records the outcome in
    ``REALTIME_EVENT_LOG`` when that is set."""
    try:
        event.schema.__pydantic_validator__.validate_json(dumps(event.data), strict=True)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(data)'}: {e['msg']}" for e in exc.errors())
        _record(event.type, "invalid", detail)
        raise InvalidEvent(f"{event.type}: {detail}") from None
    _record(event.type, "ok", "")


def _record(type_: str, outcome: str, detail: str) -> None:
    path = os.environ.get("REALTIME_EVENT_LOG")
    if not path:
        return
    line = f"{os.getpid()}\t{type_}\t{outcome}\t{detail.replace(chr(10), ' ')}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write of a short line with O_APPEND: lines of processes never interleave
    finally:
        os.close(fd)


# --- the gateway's own event -----------------------------------------------------------------


class SubscriptionRevoked(EventSchema):
    """Sent by the gateway, without ``seq``, when an app ends a user's access to a topic (e.g.
    a buyer's delivery tracking once the delivery ended); the topic is dropped from the socket."""

    type: ClassVar[str] = "subscription.revoked"
    topics: ClassVar[Topics | None] = None

    reason: str = Field(description="why, e.g. tracking_ended")


__all__ = [
    "Count", "Currency", "Event", "EventSchema", "InvalidEvent", "Money", "Payload", "SubscriptionRevoked",
    "Timestamp", "TopicKind", "Topics", "camel_name", "check", "event_types", "get_event_type", "get_topic_kind",
    "one_of", "topic_kinds", "validate", "validation_enabled",
]
