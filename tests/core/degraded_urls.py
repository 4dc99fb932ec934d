"""URLs of tests/core/test_degraded.py: views that fail the way an outage or a bug makes them fail."""

import redis
from django.db import OperationalError
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny


@api_view(["GET"])
@permission_classes([AllowAny])
def api_database_down(request):
    raise OperationalError("connection to server on socket failed: No such file or directory")


@api_view(["GET"])
@permission_classes([AllowAny])
def api_redis_down(request):
    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")


def page_database_down(request):
    raise OperationalError("the database system is shutting down")


def api_plain_bug(request):
    raise RuntimeError("a bug, not an outage")


urlpatterns = [
    path("api/v1/database-down/", api_database_down),
    path("api/v1/redis-down/", api_redis_down),
    path("api/v1/plain-bug/", api_plain_bug),
    path("console/database-down/", page_database_down),
]

handler500 = "core.views.server_fault"
