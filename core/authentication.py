"""DRF authentication: simplejwt's Bearer tokens plus the logout denylists (token and session) of ``core.tokens``."""

from rest_framework_simplejwt.authentication import JWTAuthentication as _JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from core.tokens import SESSION_CLAIM, is_access_token_revoked


class JWTAuthentication(_JWTAuthentication):
    """``Authorization: Bearer <access>``; refuses access tokens revoked at logout, by ``jti`` or
    by their session (``sid`` claim, see ``core.tokens``)."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if is_access_token_revoked(token.get("jti", ""), token.get(SESSION_CLAIM)):
            raise InvalidToken({"detail": "Token was revoked.", "code": "token_revoked"})
        return token
