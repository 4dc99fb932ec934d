"""Outages answer 503 JSON, and ``/api/`` never answers an HTML error page.

DRF views already map outages in ``core.exceptions.api_exception_handler``; this middleware covers
every other view (``/health/`` aside, which reports outages itself: the admin, the console, the
schema views) and Django's debug mode, where an uncaught exception would otherwise render the
technical 500 page with a traceback and the settings (issue 14, row 5: ``make run`` runs with
``DEBUG=1``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.exceptions import outage_error, service_unavailable_response

logger = logging.getLogger("django.request")


class OutageMiddleware:
    """``MIDDLEWARE`` entry ``core.middleware.OutageMiddleware``.

    - An exception that means PostgreSQL, Redis or the broker is unavailable
      (:func:`core.exceptions.outage_error`) becomes 503 ``{"code": "service_unavailable",
      "detail"}`` with ``Retry-After``, on every path, with or without ``DEBUG``.
    - Under ``DEBUG``, any other uncaught exception on an ``/api/`` path becomes 500
      ``{"code": "internal_error", "detail"}`` (logged with its traceback like Django does) instead
      of the technical HTML page. Without ``DEBUG`` Django's ``handler500``
      (``core.views.server_fault``) already answers JSON there.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        err = outage_error(exception)
        if err is not None:
            logger.warning("Service unavailable (%s): %s %s: %s: %s", err.service, request.method, request.path,
                           exception.__class__.__name__, exception)
            return service_unavailable_response(err)
        if settings.DEBUG and request.path.startswith("/api/"):
            logger.error("Internal Server Error: %s", request.path, exc_info=exception)
            return JsonResponse({"code": "internal_error", "detail": "Internal error; nothing was changed."}, status=500)
        return None
