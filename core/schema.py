"""OpenAPI (drf-spectacular) pieces of core: the JWT bearer scheme of
``core.authentication.JWTAuthentication`` (a simplejwt subclass with the logout denylist), and
the one documented error body with its responses, used by every app's views."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class JWTScheme(SimpleJWTScheme):
    target_class = "core.authentication.JWTAuthentication"
    name = "jwtAuth"


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal from ``/api/`` (``core.exceptions``): ``{"code", "detail",
    "fields"?}`` plus extra keys some codes carry (``available_stock`` with ``insufficient_stock``,
    ``retry_after`` with ``throttled``, ``retry_after_ms`` with ``rate_limited`` …)."""

    code = serializers.CharField(help_text="Stable machine code, e.g. `invalid`, `order_not_found`, `email_taken`.")
    detail = serializers.CharField(help_text="Human-readable sentence.")
    fields = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="Validation errors by field (code `invalid` and some domain codes): a list of messages, or for "
        "a list or object field the errors by index or key.",
    )


#: what each status means when an operation does not say more
ERROR_TEXT = {
    400: "Invalid input (code `invalid` with `fields`, or a domain code)",
    401: "Not authenticated, or the credentials or token were refused",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    422: "`idempotency_key_reused`: this Idempotency-Key came with another request",
    429: "Too many requests (`throttled` with `retry_after`, `rate_limited` with `retry_after_ms`)",
    503: "A service is unavailable (`Retry-After` header)",
}


def error_responses(*codes: int, **texts: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the HTTP status ``codes``, each the :class:`ErrorSerializer` body:
    ``responses={200: X, **error_responses(404, 409, e404="Unknown order")}`` (``e<code>``
    overrides the description)."""
    return {c: OpenApiResponse(ErrorSerializer, description=texts.get(f"e{c}", ERROR_TEXT[c])) for c in codes}
