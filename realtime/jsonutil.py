"""JSON encoding for events: ``Decimal`` as a string (money never becomes a float), datetimes
as ISO 8601 UTC with ``Z``, UUIDs as strings."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any


class EventJSONEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return str(o)
        if isinstance(o, dt.datetime):
            if o.tzinfo is not None:
                o = o.astimezone(dt.timezone.utc)
            return o.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if isinstance(o, (dt.date, dt.time)):
            return o.isoformat()
        if isinstance(o, uuid.UUID):
            return str(o)
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        return super().default(o)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` using :class:`EventJSONEncoder`."""
    return json.dumps(value, cls=EventJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def to_jsonable(value: Any) -> Any:
    """``value`` with Decimals, datetimes and UUIDs turned into their JSON string forms."""
    return json.loads(dumps(value))
