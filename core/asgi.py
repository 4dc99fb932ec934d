"""ASGI entry point: HTTP goes to Django, WebSocket ``/ws/`` to the realtime gateway (and, in test
settings only, ``/ws/echo/`` to the conformance echo endpoint, ``realtime.echo``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from realtime.consumers import GatewayConsumer  # noqa: E402
from realtime.echo import EchoConsumer  # noqa: E402

websocket_routes = [path("ws/", GatewayConsumer.as_asgi())]
if settings.WS_ECHO_ENDPOINT:
    websocket_routes.append(path("ws/echo/", EchoConsumer.as_asgi()))

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_routes),
    }
)
