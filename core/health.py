"""``GET /health/``: 200 ``{"database":"ok","redis":"ok"}``, or 503 naming what is down."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from core.redis import sync_client


@require_GET
def health(request):
    status = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        status["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "down"
        status["database"] = "down"
    try:
        sync_client().ping()
        status["redis"] = "ok"
    except Exception:  # noqa: BLE001
        status["redis"] = "down"
    ok = all(v == "ok" for v in status.values())
    return JsonResponse(status, status=200 if ok else 503)
