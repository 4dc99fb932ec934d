"""REST pieces shared by the commerce rooms and the apps built on them (auctions, delivery): the
documented error body, its OpenAPI responses, and "anyone may read" views."""

from __future__ import annotations

from datetime import timezone as dt_timezone
from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated


class CommerceErrorSerializer(serializers.Serializer):
    """The error body of every refusal: ``{"code", "detail", "fields"?}`` plus extra keys for
    some codes (``available_stock`` with ``insufficient_stock``; ``status``/``allowed`` with
    ``invalid_transition``)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the HTTP status ``codes`` (400, 401, 403, 404, 409), each the
    :class:`CommerceErrorSerializer` body: ``responses={200: X, **error_responses(404, 409)}``."""
    text = {
        400: "Invalid input (code `invalid` with `fields`, or a domain code)",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with the current state",
    }
    return {c: OpenApiResponse(CommerceErrorSerializer, description=text[c]) for c in codes}


class ReadOpenMixin:
    """GET/HEAD/OPTIONS for anyone; other methods need a signed-in user."""

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticated()]


MONEY_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^[0-9]+\.[0-9]{2}$", "example": "12.50"}


@extend_schema_field(MONEY_SCHEMA)
class MoneyOut(serializers.Field):
    """Money out: ``"12.50"`` (two decimals, a string), as the events carry it."""

    def to_representation(self, value: Decimal) -> str:
        return f"{value:.2f}"


@extend_schema_field({"type": "string", "format": "date-time", "example": "2026-11-23T10:00:00.123Z"})
class Timestamp(serializers.Field):
    """A time out: ISO 8601 UTC with milliseconds and ``Z`` (the events' form)."""

    def to_representation(self, value) -> str:
        return value.astimezone(dt_timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
