"""Site-level views: the API index and JSON error pages for API paths."""

import sys

from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error
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
