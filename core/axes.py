"""django-axes, scoped to the Django admin's sign-in.

Settings (``core.settings``): ``AXES_FAILURE_LIMIT`` (5) failed admin sign-ins for one (username,
client IP) pair lock that pair out for ``AXES_COOLOFF_MINUTES`` (15); the client IP is
:func:`core.client_ip.client_ip` (:func:`client_ip_or_none`), so a rotating ``X-Forwarded-For`` from an untrusted peer does
not open new buckets. Locked-out requests get 429 from ``axes.middleware.AxesMiddleware``.

The REST sign-in (``POST /api/v1/auth/token/``) calls ``authenticate()`` too; it is rate-limited
by ``core.throttles`` instead, and axes neither locks nor records it (:class:`AdminOnlyDatabaseHandler`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler

from core.client_ip import client_ip


class AdminLockoutBackend(AxesStandaloneBackend):
    """axes' check-only backend (first in ``AUTHENTICATION_BACKENDS``). An ``authenticate()``
    call without a request (a management command, the test client's ``login``) is not a web
    sign-in and is left to the next backend instead of raising."""

    def authenticate(self, request, username=None, password=None, **kwargs):  # noqa: ANN001, ANN201
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class AdminOnlyDatabaseHandler(AxesDatabaseHandler):
    """axes' database handler that records sign-ins, failures and sign-outs only for requests to
    the admin site (``AXES_ONLY_ADMIN_SITE`` alone stops the lockout elsewhere but still writes a
    row per failed API sign-in)."""

    def _admin(self, request) -> bool:  # noqa: ANN001
        return request is not None and self.is_admin_request(request)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):  # noqa: ANN001, ANN201
        if not self._admin(request):
            return None
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs):  # noqa: ANN001, ANN201
        if not self._admin(request):
            return None
        return super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender, request, user, **kwargs):  # noqa: ANN001, ANN201
        if not self._admin(request):
            return None
        return super().user_logged_out(sender, request, user, **kwargs)


def client_ip_or_none(request: Any) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: :func:`core.client_ip.client_ip`, or None for a request
    without an address (axes stores IPs in a ``GenericIPAddressField``)."""
    address = client_ip(request)
    return address if _is_ip(address) else None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def username_from(request: Any, credentials: dict | None) -> str | None:
    """The username axes counts failures under: the admin form's ``username`` field (an email
    here), lower-cased and stripped, so ``Admin@X`` and ``admin@x`` share one counter."""
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = getattr(request, "POST", {}).get("username")
    return value.strip().lower() if isinstance(value, str) else None
