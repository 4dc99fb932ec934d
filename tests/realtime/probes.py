"""Event types of the gateway's own tests (``realtime.events``): the gateway relays, numbers and
replays events whatever their data, so its tests publish these free-form probes on ``user:``
topics. Declared only in the test process (pytest imports this module); ``manage.py asyncapi``
documents the product's event types, not these."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict

from realtime.events import Event, EventSchema, Topics
from realtime.user_topic import USER_TOPIC


class ProbeTick(EventSchema):
    """A gateway test's event: any data."""

    type: ClassVar[str] = "probe.tick"
    topics: ClassVar[Topics] = (USER_TOPIC,)
    model_config = ConfigDict(extra="allow")

    @classmethod
    def build(cls, **data: Any) -> Event:
        return cls.event(data)


class ProbeTyping(EventSchema):
    """A gateway test's ephemeral event: any data."""

    type: ClassVar[str] = "probe.typing"
    topics: ClassVar[Topics] = (USER_TOPIC,)
    ephemeral: ClassVar[bool] = True
    model_config = ConfigDict(extra="allow")

    @classmethod
    def build(cls, **data: Any) -> Event:
        return cls.event(data)
