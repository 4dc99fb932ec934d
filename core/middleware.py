"""Site-wide middleware that is not about client addresses (that is ``core.client_ip``).

* :class:`HealthProbeMiddleware` answers ``/health/`` ahead of the host and HTTPS checks.
* :class:`OutageMiddleware`: outages answer 503 JSON, and ``/api/`` never answers an HTML error
  page. DRF views already map outages in ``core.exceptions.api_exception_handler``; this
  middleware covers every other view (``/health/`` aside, which reports outages itself: the admin,
  the console, the schema views) and Django's debug mode, where an uncaught exception would
  otherwise render the technical 500 page with a traceback and the settings (``make run`` runs
  with ``DEBUG=1``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.exceptions import outage_error, service_unavailable_response
from core.health import health

logger = logging.getLogger("django.request")
HEALTH_PATH = "/health/"


class HealthProbeMiddleware:
    """Answers ``GET /health/`` itself, ahead of ``SecurityMiddleware`` and ``CommonMiddleware``.

    Load balancers and container health checks probe by IP address over plain HTTP, with a
    ``Host`` header that is not in ``ALLOWED_HOSTS``; through the normal chain the probe would get
    a 301 to HTTPS (``SECURE_SSL_REDIRECT``) or a 400 (``DisallowedHost``) and mark a healthy
    instance down. The view (``core.health.health``) reads neither the host nor the scheme, so
    skipping those checks for this one path exposes nothing else. Every other path is untouched.
    """

    def __init__(self, get_response) -> None:  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        if request.path_info == HEALTH_PATH:
            return health(request)
        return self.get_response(request)


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
