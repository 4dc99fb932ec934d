"""Small helpers shared by the apps."""

from __future__ import annotations

import uuid
from typing import Any


def parse_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is not one (never raises): ids from URLs and frames."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def validated(serializer_cls, data: Any) -> dict[str, Any]:
    """``serializer_cls(data=data)``'s validated data as a plain dict (an input serializer of a
    thin view). Raises DRF's ``ValidationError`` (HTTP 400 ``invalid`` with the field errors)."""
    serializer = serializer_cls(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def validated_command(serializer_cls, data: Any) -> dict[str, Any]:
    """:func:`validated` for the ``data`` of a socket command, where anything but a JSON object
    counts as an empty one (so the reply names the missing fields). Raises ``ValidationError``
    (an error reply ``invalid``)."""
    return validated(serializer_cls, data if isinstance(data, dict) else {})
