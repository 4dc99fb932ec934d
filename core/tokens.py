"""JWT access-token checks shared by REST and the WebSocket gateway.

Access tokens are short-lived (``SIMPLE_JWT.ACCESS_TOKEN_LIFETIME``, 15 min by default) and signed
with HS256; ``alg: none`` and any other algorithm are refused by simplejwt's backend. Logging out
blacklists the refresh token (simplejwt's blacklist app) and revokes the access token presented
with the request by putting its ``jti`` on a Redis denylist until the token would expire anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from core.exceptions import ApplicationError

_DENY_PREFIX = "jwt-revoked:"


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


def is_access_token_revoked(jti: str) -> bool:
    """True when the access token with this ``jti`` was revoked by a logout."""
    return cache.get(_DENY_PREFIX + str(jti)) is not None


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
    if is_access_token_revoked(token.get("jti", "")):
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
