"""Site-wide middleware that is not about client addresses (that is ``core.client_ip``)."""

from __future__ import annotations

from core.health import health

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
