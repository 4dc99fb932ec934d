"""Site-level views: the API index and the error pages, JSON ``{"code","detail"}`` for API paths.

Django calls these for errors raised outside DRF's exception handler: ``DisallowedHost`` and
other ``SuspiciousOperation`` from middleware (400), a CSRF refusal (403, ``CSRF_FAILURE_VIEW``),
``PermissionDenied`` / ``Http404`` from plain Django views, and crashes (500). Under ``/api/``
clients always get the project's error shape; the admin and the console keep Django's pages.
"""

import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found, permission_denied, server_error
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.exceptions import outage_error, service_unavailable_response


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request):
    """``GET /api/v1/``: where the documentation, schema and WebSocket gateway are."""
    ws_scheme = "wss" if request.is_secure() else "ws"
    return Response(
        {
            "docs": request.build_absolute_uri("/api/docs/"),
            "schema": request.build_absolute_uri("/api/v1/schema/"),
            "websocket": f"{ws_scheme}://{request.get_host()}/ws/",
            "health": request.build_absolute_uri("/health/"),
        }
    )


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    """400 handler (``handler400``): ``DisallowedHost`` and other ``SuspiciousOperation`` (400
    ``bad_request``), too many form fields or files (400 ``too_many_fields``), a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413 ``request_too_large``)."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"code": "request_too_large", "detail": "The request body is too large."}, status=413)
        if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
            return JsonResponse({"code": "too_many_fields", "detail": "The request has too many fields or files."}, status=400)
        return JsonResponse({"code": "bad_request", "detail": "Bad request."}, status=400)
    return django_bad_request(request, exception)


def forbidden(request, exception=None):
    """403 handler (``handler403``) for ``PermissionDenied`` outside DRF views."""
    if _is_api(request):
        return JsonResponse({"code": "forbidden", "detail": "You do not have permission to perform this action."}, status=403)
    return permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: 403 ``csrf_failed`` under ``/api/`` (the API itself authenticates with
    Bearer tokens and is exempt; this covers a cookie-authenticated non-DRF path)."""
    if _is_api(request):
        return JsonResponse({"code": "csrf_failed", "detail": f"CSRF check failed: {reason}".strip()}, status=403)
    return django_csrf_failure(request, reason=reason)


def not_found(request, exception=None):
    """404 handler: JSON ``{"code","detail"}`` under ``/api/``, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_fault(request):
    """500 handler: 503 ``service_unavailable`` with ``Retry-After`` when the fault is a dependency
    outage (one raised outside a view, e.g. by a middleware), else JSON ``{"code","detail"}``
    under ``/api/`` (no traceback) and Django's page elsewhere. Django calls it while handling
    the exception, so ``sys.exc_info()`` holds it."""
    err = outage_error(sys.exc_info()[1])
    if err is not None:
        return service_unavailable_response(err)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "internal_error", "detail": "Internal error; nothing was changed."}, status=500)
    return server_error(request)
