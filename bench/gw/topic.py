"""A bench-only topic kind, ``benchroom:<key>``, registered only in the benchmark's Daphne.

The product topics are per user / owner / conversation; none can hold 5,000 subscribers. This kind
lets any signed-in user subscribe, returns a tiny snapshot, and has one command, ``publish``, that
goes through the production path: one ``realtime.outbox.publish`` inside ``transaction.atomic()``
(outbox row -> after-commit relay -> Redis stream + channel-layer ``group_send``). So a command
round trip includes a database write and the relay, like a bid.

It is imported by ``bench/gw/serve.py`` (the benchmark's Daphne) and by the publisher in
``bench/gateway.py``; the product never imports it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import transaction

from realtime import outbox
from realtime.events import Event, EventSchema, TopicKind, Topics
from realtime.registry import Topic, command, register

BENCHROOM_TOPIC = TopicKind("benchroom", key="any room name", description="benchmark rooms")
KIND = BENCHROOM_TOPIC.kind


class BenchMessage(EventSchema):
    """A benchmark message: the client's send stamp ``t`` (seconds) and counter ``i``."""

    type: ClassVar[str] = "bench.message"
    topics: ClassVar[Topics] = (BENCHROOM_TOPIC,)

    t: Any
    i: Any

    @classmethod
    def build(cls, *, t: Any, i: Any) -> Event:
        return cls.event({"t": t, "i": i})


@register
class BenchRoomTopic(Topic):
    kind = KIND

    def authorize(self, *, user, key):
        return user is not None and user.is_authenticated

    def snapshot(self, *, user, key):
        return {"room": key}

    @command("publish")
    def publish(self, *, user, key, data):
        # data is echoed in the event (``t``: the client's send stamp, ``i``: a client counter)
        with transaction.atomic():
            event = outbox.publish(topic=BENCHROOM_TOPIC.name(key), event=BenchMessage.build(t=data.get("t"), i=data.get("i")))
        return {"event_id": str(event.event_id)}
