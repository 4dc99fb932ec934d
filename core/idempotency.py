"""``Idempotency-Key`` for POST endpoints that move money or stock.

Semantics of Stripe's idempotent requests (https://docs.stripe.com/api/idempotent_requests) and
the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header):

* The client sends ``Idempotency-Key: <1..255 visible ASCII characters>`` (a UUID v4 is
  recommended). Keys are scoped per authenticated user and per endpoint *scope*.
* The first request runs and its response (status and JSON body) is stored. The same key with
  the same request (method, path and canonical JSON body → sha256 *fingerprint*) replays that
  response with the header ``Idempotent-Replayed: true``, without running anything.
* The same key with a different request → 422 ``idempotency_key_reused``, nothing runs.
* No key where one is required → 400 ``idempotency_key_required``; a malformed key → 400
  ``invalid_idempotency_key``.
* Client errors (4xx: refusals such as ``insufficient_stock``) are stored and replayed like
  successes, as Stripe does; their writes are rolled back to a savepoint taken before the
  handler. A server fault (5xx or an unexpected exception) stores nothing, so a retry runs again.
* Concurrent requests with one key: the first inserts the key row and holds its row lock until
  its transaction commits; the others wait on that lock (``INSERT … ON CONFLICT DO NOTHING`` then
  ``SELECT … FOR UPDATE``) and then replay the stored response. The handler therefore runs once.
* Keys are kept ``IDEMPOTENCY_KEY_TTL_SECONDS`` (86,400 = 24 h); a key older than that is treated
  as new, and ``core.tasks.purge_idempotency_keys`` (Celery beat, hourly) deletes old rows.

The handler runs inside the transaction that holds the key row, so callbacks it registers with
``transaction.on_commit`` (realtime events, Celery tasks) run when the response is final.

``atomic=False`` is for handlers that call an outside system between their own transactions
(a card payment: record the attempt, call the gateway with no lock held, settle), whose first
writes must survive whatever happens later in the request. Concurrent requests with one key are
then serialised by a PostgreSQL session advisory lock on (user, scope, key) instead of the key
row's lock; the key row is committed ``in_progress`` before the handler runs and ``completed``
with its response after. The handler's writes are its own: a 4xx answer is stored and replayed
but nothing is rolled back (such handlers refuse before writing, or record the refusal); a 5xx
or an exception deletes the key row so a retry runs again (and meets what the first run
recorded, e.g. a pending payment attempt).

Usage on a DRF view method (the permission check of DRF has run before the wrapper, so the user
is authenticated)::

    class CheckoutApi(APIView):
        @extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER], ...)
        @idempotent(scope="checkout")
        def post(self, request): ...
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta
from typing import Any, Callable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from core.exceptions import ApplicationError, to_application_error
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")

_KEY_SEMANTICS = ("Retrying with the same key and body replays the first response (header "
                  "`Idempotent-Replayed: true`); the same key with another body → 422 `idempotency_key_reused`. "
                  "Kept 24 hours.")


def _key_parameter(*, required: bool, lead: str) -> OpenApiParameter:
    return OpenApiParameter(name=HEADER, type=OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=required,
                            description=f"{lead} {_KEY_SEMANTICS}")


#: add to ``extend_schema(parameters=[...])`` of a decorated view
IDEMPOTENCY_KEY_PARAMETER = _key_parameter(required=True, lead="A unique key per operation (a UUID v4).")

#: The same header on an endpoint that also runs without it (``idempotent(required=False)``): a
#: client that may retry sends a key and gets the first answer replayed instead of a second write.
OPTIONAL_IDEMPOTENCY_KEY_PARAMETER = _key_parameter(
    required=False, lead="Optional. A unique key per operation (a UUID v4); send one if you may retry.")


def ttl() -> timedelta:
    """How long keys are kept (``IDEMPOTENCY_KEY_TTL_SECONDS``, default 24 h)."""
    return timedelta(seconds=int(getattr(settings, "IDEMPOTENCY_KEY_TTL_SECONDS", 86400)))


def fingerprint(request) -> str:
    """sha256 hex of ``METHOD path`` and the canonical body (JSON with sorted keys, or the raw
    bytes when it is not JSON)."""
    try:
        data = request.data
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()
    except (TypeError, ValueError):
        body = request.body
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _json_body(data: Any) -> Any:
    """The response data as it will be sent (Decimals, datetimes and UUIDs as strings)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _replay(record) -> Response:
    return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})


def _advisory_key(user_id: Any, scope: str, key: str) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for (user, scope, key). A collision only
    serialises two unrelated requests."""
    digest = hashlib.sha256(f"idempotency\0{user_id}\0{scope}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _run_non_atomic(method: Callable, view, request, args, kwargs, *, scope: str, key: str) -> Response:
    """The ``atomic=False`` path of :func:`idempotent` (see the module docstring)."""
    user = request.user
    fp = fingerprint(request)
    lock_key = _advisory_key(user.pk, scope, key)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", [lock_key])
    try:
        now = timezone.now()
        with transaction.atomic():
            IdempotencyKey.objects.bulk_create(
                [IdempotencyKey(user=user, scope=scope, key=key, fingerprint=fp, created_at=now)], ignore_conflicts=True,
            )
            record = IdempotencyKey.objects.select_for_update().get(user=user, scope=scope, key=key)
            if record.created_at < now - ttl() or record.status == IdempotencyKey.Status.IN_PROGRESS:
                # expired, or left in progress by a process that died mid-request: a new key
                record.fingerprint, record.status, record.created_at = fp, IdempotencyKey.Status.IN_PROGRESS, now
                record.response_status = record.response_body = record.completed_at = None
                record.save()
            if record.fingerprint != fp:
                raise ApplicationError(f"This {HEADER} was used for a different request; use a new key.",
                                       code="idempotency_key_reused", status=422)
            if record.status == IdempotencyKey.Status.COMPLETED:
                return _replay(record)
        try:
            response = method(view, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - client errors are stored, faults re-raised
            if to_application_error(exc) is None:
                IdempotencyKey.objects.filter(pk=record.pk).delete()
                raise
            response = view.get_exception_handler()(exc, view.get_exception_handler_context())
            if response is None:
                IdempotencyKey.objects.filter(pk=record.pk).delete()
                raise
        if response.status_code >= 500:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            return response
        body = _json_body(response.data)
        IdempotencyKey.objects.filter(pk=record.pk).update(
            status=IdempotencyKey.Status.COMPLETED, response_status=response.status_code, response_body=body,
            completed_at=timezone.now(),
        )
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return Response(body, status=response.status_code, headers=headers)
    finally:
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [lock_key])
        except DatabaseError:  # a broken connection took its session lock with it
            pass


def idempotent(*, scope: str, required: bool = True, atomic: bool = True) -> Callable:
    """Decorate a DRF view method so it honours ``Idempotency-Key`` (see the module docstring).

    ``scope`` names the operation (keys of different scopes never collide); ``required=False``
    runs requests without a key normally; ``atomic=False`` runs the handler outside the key's
    transaction (its own transactions commit as they go). Raises (as 4xx responses)
    ``idempotency_key_required``, ``invalid_idempotency_key``, ``idempotency_key_reused``."""
    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise ApplicationError(f"This request needs an {HEADER} header (e.g. a UUID v4).",
                                           code="idempotency_key_required")
                return method(view, request, *args, **kwargs)
            if not KEY_RE.match(key):
                raise ApplicationError(f"{HEADER} must be 1 to 255 visible ASCII characters.",
                                       code="invalid_idempotency_key")
            if not atomic:
                return _run_non_atomic(method, view, request, args, kwargs, scope=scope, key=key)
            user = request.user
            fp = fingerprint(request)
            now = timezone.now()
            with transaction.atomic():
                IdempotencyKey.objects.bulk_create(
                    [IdempotencyKey(user=user, scope=scope, key=key, fingerprint=fp, created_at=now)],
                    ignore_conflicts=True,
                )
                record = IdempotencyKey.objects.select_for_update().get(user=user, scope=scope, key=key)
                if record.created_at < now - ttl():  # expired but not purged yet: a new key
                    record.fingerprint, record.status, record.created_at = fp, IdempotencyKey.Status.IN_PROGRESS, now
                    record.response_status = record.response_body = record.completed_at = None
                if record.fingerprint != fp:
                    raise ApplicationError(
                        f"This {HEADER} was used for a different request; use a new key.",
                        code="idempotency_key_reused", status=422,
                    )
                if record.status == IdempotencyKey.Status.COMPLETED:
                    return _replay(record)
                savepoint = transaction.savepoint()
                try:
                    response = method(view, request, *args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - client errors are stored, faults re-raised
                    if to_application_error(exc) is None:
                        raise
                    transaction.savepoint_rollback(savepoint)
                    response = view.get_exception_handler()(exc, view.get_exception_handler_context())
                    if response is None:
                        raise
                else:
                    transaction.savepoint_commit(savepoint)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                body = _json_body(response.data)
                record.status = IdempotencyKey.Status.COMPLETED
                record.response_status = response.status_code
                record.response_body = body
                record.completed_at = timezone.now()
                record.save()
                headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
                return Response(body, status=response.status_code, headers=headers)

        return wrapper

    return decorate


def purge_expired(*, now=None) -> int:
    """Delete keys older than the TTL; returns how many."""
    cutoff = (now or timezone.now()) - ttl()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
