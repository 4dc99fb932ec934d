"""Root URLs: ``/api/v1/`` (REST), ``/api/v1/schema/`` (OpenAPI 3), ``/api/docs/`` (Swagger UI),
``/health/``, ``/admin/``. The WebSocket gateway is routed in ``core.asgi`` at ``/ws/``."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.health import health
from core.views import api_root

api_v1 = [
    path("", api_root, name="api-root"),
    path("", include("core.api_urls")),
    path("", include("commerce.urls")),
    path("", include("notifications.urls")),
    path("", include("chat.urls")),
    path("", include("support.urls")),
    path("", include("auctions.urls")),
    path("", include("delivery.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/v1/", include(api_v1)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script from a URL, so Swagger UI runs under script-src 'self' (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("console/", include("realtime.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "core.views.bad_request"
handler403 = "core.views.forbidden"
handler404 = "core.views.not_found"
handler500 = "core.views.server_fault"
