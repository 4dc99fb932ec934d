"""Serializer fields shared by the apps: money and strict integers in, money and times out."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MONEY_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^[0-9]+(\.[0-9]{1,2})?$",
    "example": "12.50",
    "description": "Money in the currency's major unit as a decimal string with at most two decimals "
    "(an integer JSON number is accepted too); JSON numbers with a fraction such as 12.5 are refused.",
}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """A money input, handed to the service **unconverted**: a JSON string stays a ``str``, an
    integer an ``int`` and a JSON number with a fraction a ``float``, so the service's validator
    (``commerce.wallet.services.validate_amount``, ``commerce.catalog.services`` for prices) refuses the float
    (``invalid_amount`` / ``invalid``) instead of receiving it as the string ``"12.5"``.

    Why: DRF's ``CharField`` turns ``12.5`` into ``"12.5"`` and ``DecimalField`` turns it into
    ``Decimal("12.5")``, and then nothing downstream can tell that the client sent a binary float,
    which the API documents as refused (README, "Money in requests").
    """

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value if isinstance(value, str) else (None if value is None else f"{value:.2f}")


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON integer: ``"3"``, ``3.0`` and ``true`` are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- output fields: how a response (and an event built from the same serializer) renders values ---

MONEY_OUTPUT_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "example": "12.50",
    "description": "Money in the currency's major unit as a decimal string with two decimals (signed where it "
    "can be negative).",
}


@extend_schema_field(MONEY_OUTPUT_SCHEMA)
class MoneyOutputField(serializers.Field):
    """Money out: a ``Decimal`` rendered with exactly two decimals (``"12.50"``, ``"-3.00"``),
    never a float. ``None`` renders ``null`` (declare ``allow_null=True``)."""

    def to_representation(self, value: Any) -> str:
        return f"{value:.2f}"


def iso_utc(value: datetime) -> str:
    """``value`` as ISO 8601 UTC with milliseconds and ``Z`` (``2026-11-23T10:00:00.123Z``): the
    form of every time in an event (``realtime.jsonutil``) and in most REST bodies. An aware
    time is converted to UTC first; a naive one is written as it is."""
    if value.tzinfo is not None:
        value = value.astimezone(dt_timezone.utc)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TimestampField(serializers.DateTimeField):
    """A time out, rendered by :func:`iso_utc` (milliseconds, ``Z``): the same text an event
    built from the same serializer carries. ``None`` renders ``null`` (declare ``allow_null``)."""

    def to_representation(self, value: Any) -> str | None:
        return None if value is None else iso_utc(value)
