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
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from core.exceptions import ApplicationError

_DENY_PREFIX = "jwt-revoked:"
_SESSION_PREFIX = "jwt-revoked-sid:"
#: the claim naming the session (refresh-token family) a token belongs to
SESSION_CLAIM = "sid"


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
    """True when the session ``sid`` was ended (logout, password reset, ban)."""
    return bool(sid) and cache.get(_SESSION_PREFIX + str(sid)) is not None


def is_access_token_revoked(jti: str, sid: str | None = None) -> bool:
    """True when the access token with this ``jti`` was revoked by a logout, or its session
    ``sid`` (the token's ``sid`` claim, if any) was ended. One Redis round trip."""
    keys = [_DENY_PREFIX + str(jti)]
    if sid:
        keys.append(_SESSION_PREFIX + str(sid))
    return bool(cache.get_many(keys))


def verify_access_token(raw: str) -> AuthenticatedToken:
    """Verify a raw access JWT and load its user.

    Raises ``ApplicationError(code="invalid_token", status=401)`` when the token is malformed,
    forged, of another type or algorithm, expired or revoked, or its user is unknown or inactive.
    """
    if not isinstance(raw, str) or not raw or len(raw) > 4096:
        raise ApplicationError("A JWT access token is required.", code="invalid_token", status=401)
    try:
        token = AccessToken(raw)
    except TokenError as exc:
        raise ApplicationError(f"Token refused: {exc}", code="invalid_token", status=401) from None
    if is_access_token_revoked(token.get("jti", ""), token.get(SESSION_CLAIM)):
        raise ApplicationError("Token refused: it was revoked.", code="invalid_token", status=401)
    User = get_user_model()
    try:
        user = User.objects.get(pk=token["user_id"], is_active=True)
    except (User.DoesNotExist, KeyError, ValueError, Exception) as exc:  # bad uuid in claim, etc.
        if isinstance(exc, ApplicationError):
            raise
        raise ApplicationError("Token refused: unknown or inactive user.", code="invalid_token", status=401) from None
    exp = datetime.fromtimestamp(int(token["exp"]), tz=dt_timezone.utc)
    return AuthenticatedToken(user=user, jti=str(token["jti"]), expires_at=exp)
