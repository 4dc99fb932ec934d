"""REST pieces shared by the commerce rooms: "anyone may read" views. (The error body and its
OpenAPI responses are ``core.schema``'s.)"""

from __future__ import annotations

from rest_framework.permissions import AllowAny, IsAuthenticated


class ReadOpenMixin:
    """GET/HEAD/OPTIONS for anyone; other methods need a signed-in user."""

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticated()]
