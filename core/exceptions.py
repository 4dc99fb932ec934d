"""One error type for services, REST and the WebSocket gateway.

Services raise :class:`ApplicationError` (or a subclass); the DRF exception handler turns it into
HTTP ``status`` with the JSON body ``{"code", "detail", "fields"?}``, and the gateway turns it
into an error reply ``{"op":"reply","status":"error","error":{"code","detail"}}``. Codes are
stable machine strings (``insufficient_stock``, ``bid_too_low``...).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, JsonResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework import exceptions as drf_exceptions
from rest_framework import status as http
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A refusal a client caused: ``code`` (machine string), ``detail`` (human sentence),
    ``status`` (HTTP status), optional ``fields`` ({field: [messages]}) and ``extra`` data."""

    status: int = http.HTTP_400_BAD_REQUEST
    code: str = "invalid"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class NotFound(ApplicationError):
    status = http.HTTP_404_NOT_FOUND
    code = "not_found"


class Forbidden(ApplicationError):
    status = http.HTTP_403_FORBIDDEN
    code = "forbidden"


class Conflict(ApplicationError):
    status = http.HTTP_409_CONFLICT
    code = "conflict"


#: seconds a client is told to wait (``Retry-After``, ``retry_after_ms``) when a dependency is down
DEFAULT_RETRY_AFTER = 5


class ServiceUnavailable(ApplicationError):
    """503 ``service_unavailable``: PostgreSQL or Redis cannot be reached (or did not answer in
    time), so the request could not be checked or done; nothing was changed. ``service`` names
    the dependency (``database``, ``redis``, ``broker``) and ``retry_after`` (seconds) becomes the
    ``Retry-After`` header over REST and ``retry_after_ms`` in a socket error reply (code
    ``unavailable``)."""

    status = http.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"

    def __init__(self, detail: str = "A service this request needs is unavailable; retry later.", *,
                 service: str = "", retry_after: int = DEFAULT_RETRY_AFTER) -> None:
        super().__init__(detail)
        self.service = service
        self.retry_after = retry_after


def outage_error(exc: BaseException) -> ServiceUnavailable | None:
    """The :class:`ServiceUnavailable` that ``exc`` means when it is a dependency outage, else None.

    Outages: Django's ``OperationalError`` / ``InterfaceError`` (PostgreSQL down, restarting, a
    connection that died, the pool's wait for a connection timing out, a deadlock or
    serialization failure: all worth a retry), redis-py's ``ConnectionError`` / ``TimeoutError``
    (down, loading, frozen past the socket timeout) and kombu's ``OperationalError`` (the Celery
    broker refused a publish). Anything else is a bug or a client error and is not mapped here.
    """
    if isinstance(exc, ServiceUnavailable):
        return exc
    if isinstance(exc, (DatabaseOperationalError, DatabaseInterfaceError)):
        return ServiceUnavailable("The database is unavailable; retry later.", service="database")
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return ServiceUnavailable("Redis is unavailable; retry later.", service="redis")
    if isinstance(exc, BrokerOperationalError):
        return ServiceUnavailable("The task broker is unavailable; retry later.", service="broker")
    return None


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def error_from_drf(exc: drf_exceptions.APIException) -> ApplicationError:
    """Translate a DRF exception (validation, auth, throttling...) into an ApplicationError."""
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if isinstance(fields, list):
            fields = {"non_field_errors": fields}
        first = next(iter(fields.values()), ["Invalid input."]) if fields else ["Invalid input."]
        while isinstance(first, (list, dict)) and first:
            first = first[0] if isinstance(first, list) else next(iter(first.values()))
        return ApplicationError(str(first) if first else "Invalid input.", code="invalid", status=400, fields=fields)
    if isinstance(exc, drf_exceptions.Throttled):
        err = ApplicationError(str(exc.detail), code="throttled", status=429)
        if exc.wait is not None:
            err.extra["retry_after"] = int(exc.wait)
        return err
    codes = {
        drf_exceptions.NotAuthenticated: "not_authenticated",
        drf_exceptions.AuthenticationFailed: "authentication_failed",
        drf_exceptions.PermissionDenied: "forbidden",
        drf_exceptions.NotFound: "not_found",
        drf_exceptions.MethodNotAllowed: "method_not_allowed",
        drf_exceptions.NotAcceptable: "not_acceptable",
        drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
        drf_exceptions.ParseError: "parse_error",
    }
    code = next((c for cls, c in codes.items() if isinstance(exc, cls)), None)
    if code is None:
        codes_ = exc.get_codes()
        code = codes_ if isinstance(codes_, str) else "error"
    detail = exc.detail if isinstance(exc.detail, str) else _flatten(exc.detail)
    if isinstance(detail, dict):
        # simplejwt puts {"detail", "code", "messages"} in its detail
        code = str(detail.get("code", code))
        detail = str(detail.get("detail", "Request refused."))
    return ApplicationError(str(detail), code=code, status=exc.status_code)


def to_application_error(exc: Exception) -> ApplicationError | None:
    """Map any client-caused exception to an ApplicationError; None for real server faults."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, drf_exceptions.APIException):
        return error_from_drf(exc)
    if isinstance(exc, Http404):
        return NotFound("Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return Forbidden("You do not have permission to perform this action.")
    if isinstance(exc, RequestDataTooBig):
        return ApplicationError("The request body is too large.", code="request_too_large", status=413)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return ApplicationError("The request has too many fields or files.", code="too_many_fields")
    if isinstance(exc, SuspiciousOperation):
        return ApplicationError("Bad request.", code="bad_request")
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return ApplicationError(exc.messages[0] if exc.messages else "Invalid input.", fields=fields)
    outage = outage_error(exc)
    if outage is not None:
        logger.warning("service unavailable (%s): %s: %s", outage.service, exc.__class__.__name__, exc)
    return outage


def service_unavailable_response(err: ServiceUnavailable) -> JsonResponse:
    """The 503 JSON response of an outage: ``{"code":"service_unavailable","detail"}`` with
    ``Retry-After`` (a plain Django ``JsonResponse``, usable outside DRF)."""
    response = JsonResponse({"code": err.code, "detail": err.detail}, status=err.status)
    response["Retry-After"] = str(err.retry_after)
    return response


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every client error becomes ``{"code","detail","fields"?}``, and a
    dependency outage 503 ``service_unavailable`` with ``Retry-After`` (:func:`outage_error`)."""
    err = to_application_error(exc)
    if err is None:
        return None  # a real bug: let Django log it and answer 500
    headers = {}
    if isinstance(err, ServiceUnavailable):
        headers["Retry-After"] = str(err.retry_after)
    if isinstance(exc, drf_exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    return Response(err.as_dict(), status=err.status, headers=headers)
