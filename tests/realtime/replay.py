"""Zulip-style event tests (zerver/tests/test_events.py): a client that starts from a topic's
snapshot and applies the events it receives must end with exactly a fresh snapshot.

:class:`Client` is that client, in-process: it takes the snapshot the gateway would send a new
subscriber (the topic handler's ``snapshot``, through JSON as on the wire), then, at each
:meth:`Client.sync`, applies every event published since to its topics — the outbox rows, which
are exactly what the relay sends, in outbox order (= ``seq`` order) — with the ``reduce``
function a client would write, and compares its state with a fresh snapshot. ``compared``
says what is compared when a snapshot holds what no event carries (a clock, a freshly signed
token); each test names those fields and why.

The services are the real ones (the same the REST views and socket commands call), on real
PostgreSQL; events are read from the outbox of the test's transaction.
"""

from __future__ import annotations

import json
import pprint
from collections.abc import Callable, Iterable
from typing import Any

from realtime.jsonutil import dumps
from realtime.models import OutboxEvent
from realtime.registry import get_topic, parse_topic

Reducer = Callable[[dict[str, Any], str, dict[str, Any]], dict[str, Any]]


def wire(value: Any) -> Any:
    """``value`` as a client receives it (JSON text parsed back)."""
    return json.loads(dumps(value))


def last_outbox_id() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


class Client:
    """One subscriber of ``topic`` as ``user``. ``also``: other topics whose events it applies
    too (a client subscribed to its ``user:`` topic as well, e.g. for ``chat.unread``);
    ``fetch`` replaces the snapshot when the state a client keeps is more than the topic's
    snapshot (its REST reads as well); ``compared`` maps a state to what must be equal."""

    def __init__(self, *, user, topic: str, reduce: Reducer, also: Iterable[str] = (),
                 fetch: Callable[[], dict[str, Any]] | None = None,
                 compared: Callable[[dict[str, Any]], Any] = lambda state: state) -> None:
        self.user, self.topic, self.reduce, self.compared = user, topic, reduce, compared
        self.topics = [topic, *also]
        kind, self.key = parse_topic(topic)
        self.handler = get_topic(kind)
        self.fetch = fetch or (lambda: wire(self.handler.snapshot(user=self.user, key=self.key)))
        self.mark = last_outbox_id()
        self.state = self.fetch()
        self.applied: list[str] = []

    def catch_up(self) -> list[str]:
        """Apply the events published since the last call; returns their types, in order."""
        rows = list(OutboxEvent.objects.filter(topic__in=self.topics, id__gt=self.mark).order_by("id"))
        types = []
        for row in rows:
            self.state = self.reduce(self.state, row.type, wire(row.data))
            types.append(row.type)
        if rows:
            self.mark = rows[-1].id
        self.mark = max(self.mark, last_outbox_id())
        self.applied += types
        return types

    def sync(self, *expected: str) -> list[str]:
        """Catch up, check that the state equals a fresh snapshot, and that the events applied
        include ``expected`` (so each step proves it published something). Returns the types."""
        types = self.catch_up()
        missing = [t for t in expected if t not in types]
        assert not missing, f"{self.topic}: expected {missing} among the events, got {types}"
        mine, fresh = self.compared(self.state), self.compared(self.fetch())
        assert mine == fresh, (
            f"{self.topic}: after {types} the client's state differs from a fresh snapshot\n"
            f"client:\n{pprint.pformat(mine, width=120)}\nfresh:\n{pprint.pformat(fresh, width=120)}"
        )
        return types


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``data`` without ``keys`` (top level)."""
    return {k: v for k, v in data.items() if k not in keys}
