"""JWT access-token checks shared by REST and the WebSocket gateway.

Access tokens are short-lived (``SIMPLE_JWT.ACCESS_TOKEN_LIFETIME``, 15 min by default) and signed
with HS256; ``alg: none`` and any other algorithm are refused by simplejwt's backend.

**Sessions.** A sign-in starts a *session*: the refresh token carries a session id claim ``sid``
(:data:`SESSION_CLAIM`), every access token minted from it copies the claim, and a refresh
(rotation) hands the same ``sid`` to the new refresh token. A session is therefore one refresh-token
family: one signed-in device or browser tab set. Logging out revokes the session: the refresh
token is blacklisted (simplejwt's blacklist app, PostgreSQL) and the ``sid`` goes into a Redis
revoked-session set for as long as any token of the family could still be valid
(:func:`session_revocation_ttl`), so every access token of that session, including those minted
before the last refresh, stops working on REST and on the socket ``auth`` at once. Other devices'
sessions stay signed in. A password reset and a ban revoke all of the user's sessions
(``core.services.user_revoke_refresh_tokens``). The access token presented with the logout request
is also put on the per-``jti`` denylist (it may belong to another session). Tokens issued before
session ids existed carry no ``sid``; only their ``jti`` can be revoked, and they expire within
their lifetime.

**When Redis is down** the denylist and the revoked-session set cannot be read. Policy (``JWT_REVOCATION_FAIL_OPEN``, default
on; docs/operations.md "Degraded modes" says why): the check *fails open*: the token's signature,
type and expiry are still verified and its user must still exist and be active in PostgreSQL
(so a ban or deactivation still applies), but a token revoked by a logout (its ``jti`` or its session) is accepted again
until it expires, which is at most ``ACCESS_TOKEN_LIFETIME`` after it was issued. Every such
skipped check is counted (:func:`revocation_checks_skipped`, shown by ``/health/``) and logged as
a warning (at most one line per 10 s per process, with the count). A circuit breaker
(``REDIS_BREAKER_SECONDS``) stops each request from waiting out the Redis timeout. With
``JWT_REVOCATION_FAIL_OPEN=0`` the check fails closed instead: 503 ``service_unavailable``.

:func:`verify_access_token` tells "this token is not valid" (``invalid_token``) from "it cannot be
checked now" (:class:`~core.exceptions.ServiceUnavailable`: PostgreSQL down, or Redis down with
the policy set to fail closed), so that a client keeps a valid token through an outage.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from core.breaker import CircuitBreaker
from core.exceptions import ApplicationError, ServiceUnavailable, outage_error

logger = logging.getLogger(__name__)

_DENY_PREFIX = "jwt-revoked:"
_SESSION_PREFIX = "jwt-revoked-sid:"
#: the claim naming the session (refresh-token family) a token belongs to
SESSION_CLAIM = "sid"
_STORE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_WARN_EVERY_SECONDS = 10.0

#: open after a failed denylist lookup: the next REDIS_BREAKER_SECONDS of checks skip Redis
denylist_breaker = CircuitBreaker("jwt-denylist", open_seconds=settings.REDIS_BREAKER_SECONDS)


class _SkippedChecks:
    """Counts denylist checks skipped by the fail-open policy; logs one warning per
    ``_WARN_EVERY_SECONDS`` with the count since the last line."""

    def __init__(self) -> None:
        self.total = 0
        self._unlogged = 0
        self._last_log = 0.0
        self._lock = threading.Lock()

    def add(self, reason: str) -> None:
        with self._lock:
            self.total += 1
            self._unlogged += 1
            now = time.monotonic()
            if now - self._last_log < _WARN_EVERY_SECONDS:
                return
            count, self._unlogged, self._last_log = self._unlogged, 0, now
        logger.warning(
            "token revocation check skipped (%s): Redis is unavailable, so %d access token(s) were "
            "accepted without the logout denylist (JWT_REVOCATION_FAIL_OPEN); %d since start",
            reason, count, self.total,
        )


_skipped = _SkippedChecks()


def revocation_checks_skipped() -> int:
    """How many access-token revocation checks this process accepted without Redis (fail-open)."""
    return _skipped.total


def _denylisted(*keys: str) -> bool:
    """Is any of ``keys`` on the Redis denylist (one round trip)? The storage lookup, with the
    outage policy of the module docstring: returns False (and counts it) when Redis cannot answer
    and the policy fails open; raises :class:`ServiceUnavailable` when it fails closed."""
    if denylist_breaker.allow():
        try:
            found = bool(cache.get_many(list(keys)))
        except _STORE_ERRORS as exc:
            denylist_breaker.record_failure()
            reason = exc.__class__.__name__
        else:
            denylist_breaker.record_success()
            return found
    else:
        reason = "circuit open"
    if not settings.JWT_REVOCATION_FAIL_OPEN:
        raise ServiceUnavailable("Token revocation cannot be checked now; retry later.", service="redis")
    _skipped.add(reason)
    return False


@dataclass(frozen=True)
class AuthenticatedToken:
    """A verified access token: the active ``user``, its ``jti`` and ``expires_at`` (aware UTC)."""

    user: object
    jti: str
    expires_at: datetime


def revoke_access_token(token: AccessToken) -> None:
    """Deny ``token`` from now until its expiry (no-op for an already expired token)."""
    exp = datetime.fromtimestamp(int(token["exp"]), tz=dt_timezone.utc)
    ttl = int((exp - datetime.now(tz=dt_timezone.utc)).total_seconds()) + 1
    if ttl > 0:
        cache.set(_DENY_PREFIX + str(token["jti"]), 1, timeout=ttl)


def new_session_id() -> str:
    """A fresh session id for the ``sid`` claim (32 hex characters, random)."""
    return uuid.uuid4().hex


def session_revocation_ttl() -> int:
    """Seconds a revoked session id must be remembered: the longest any token of the family,
    issued up to the revocation, can stay valid (refresh or access lifetime), plus one."""
    jwt = settings.SIMPLE_JWT
    longest = max(jwt["REFRESH_TOKEN_LIFETIME"], jwt["ACCESS_TOKEN_LIFETIME"])
    return int(longest.total_seconds()) + 1


def revoke_session(sid: str | None) -> None:
    """Revoke every token carrying session id ``sid`` (no-op for None or an empty id)."""
    if sid:
        cache.set(_SESSION_PREFIX + str(sid), 1, timeout=session_revocation_ttl())


def is_session_revoked(sid: str | None) -> bool:
    """True when the session ``sid`` was ended (logout, password reset, ban). Redis down: as
    :func:`is_access_token_revoked`."""
    return bool(sid) and _denylisted(_SESSION_PREFIX + str(sid))


def is_access_token_revoked(jti: str, sid: str | None = None) -> bool:
    """True when the access token with this ``jti`` was revoked by a logout, or its session
    ``sid`` (the token's ``sid`` claim, if any) was ended. One Redis round trip.

    Redis down: False under the fail-open policy (counted and logged), or raises
    :class:`ServiceUnavailable` when ``JWT_REVOCATION_FAIL_OPEN`` is off (module docstring).
    """
    keys = [_DENY_PREFIX + str(jti)]
    if sid:
        keys.append(_SESSION_PREFIX + str(sid))
    return _denylisted(*keys)


def verify_access_token(raw: str) -> AuthenticatedToken:
    """Verify a raw access JWT and load its user.

    Raises ``ApplicationError(code="invalid_token", status=401)`` when the token is malformed,
    forged, of another type or algorithm, expired or revoked, or its user is unknown or inactive.
    Raises :class:`ServiceUnavailable` (503) when it cannot be checked now: PostgreSQL is down, or
    Redis is down and the revocation policy fails closed. The two must stay apart: a client
    throws a refused token away but keeps one that could not be checked.
    """
    if not isinstance(raw, str) or not raw or len(raw) > 4096:
        raise ApplicationError("A JWT access token is required.", code="invalid_token", status=401)
    try:
        token = AccessToken(raw)
    except (TokenError, UnicodeError, ValueError, TypeError) as exc:
        raise ApplicationError(f"Token refused: {exc}", code="invalid_token", status=401) from None
    if is_access_token_revoked(token.get("jti", ""), token.get(SESSION_CLAIM)):
        raise ApplicationError("Token refused: it was revoked.", code="invalid_token", status=401)
    User = get_user_model()
    try:
        user = User.objects.get(pk=token["user_id"], is_active=True)
    except (User.DoesNotExist, KeyError, ValueError, TypeError, DjangoValidationError):  # e.g. a bad uuid in the claim
        raise ApplicationError("Token refused: unknown or inactive user.", code="invalid_token", status=401) from None
    except Exception as exc:
        outage = outage_error(exc)
        if outage is None:
            raise
        raise outage from exc
    try:
        exp = datetime.fromtimestamp(int(token["exp"]), tz=dt_timezone.utc)
        jti = str(token["jti"])
    except (KeyError, ValueError, TypeError, OverflowError):
        raise ApplicationError("Token refused: malformed claims.", code="invalid_token", status=401) from None
    return AuthenticatedToken(user=user, jti=jti, expires_at=exp)
