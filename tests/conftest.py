"""Shared fixtures. Every test runs on real PostgreSQL (pytest-django's test database) and real
Redis (DB 1 of the same server, see ``core.settings_test``)."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.fsm import InvalidTransition
from tests.factories.core import AdminFactory, UserFactory


@pytest.fixture(scope="session", autouse=True)
def _clean_test_redis():
    """Start each session with an empty test Redis DB (never DB 0, which `make run` uses; see TEST_REDIS_DB)."""
    from django.conf import settings

    from realtime.streams import sync_client

    assert not settings.REDIS_URL.endswith("/0"), settings.REDIS_URL
    sync_client().flushdb()
    yield


@pytest.fixture
def debug_on(settings):
    """``settings.DEBUG = True`` for one test (pytest-django runs tests with it off, like
    production): for development-only features such as ``seed_demo`` and the console's demo
    accounts, which refuse or hide themselves with DEBUG off."""
    settings.DEBUG = True
    return settings


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def tokens_for(user) -> dict:
    """``{"access", "refresh"}`` JWTs for ``user``."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def client_for(user) -> APIClient:
    """An APIClient sending ``Authorization: Bearer <access>`` of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    return client


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def user_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def admin_client(admin_user) -> APIClient:
    return client_for(admin_user)


@pytest.fixture(scope="session")
def live_server_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Daphne process on the test database (tests using it need ``transactional_db``)."""
    from tests.live import LiveServer

    server = LiveServer(
        tmp_path_factory.mktemp("daphne") / "daphne.log",
        WS_ALLOWED_ORIGINS="http://allowed.example",
        WS_AUTH_TIMEOUT="1.5",
    )
    yield server
    server.stop()


@pytest.fixture
def live(live_server_process, transactional_db):
    """The running Daphne, for one test with committed (transactional) data."""
    return live_server_process


class _RollBack(Exception):
    pass


def attempt_rolled_back(fn):
    """Run ``fn()`` in a savepoint that is always rolled back (so a table of moves starts each
    row from the same data); returns its result, or the ``InvalidTransition`` it raised."""
    outcome = None
    try:
        with transaction.atomic():
            try:
                outcome = fn()
            except InvalidTransition as exc:
                outcome = exc
            raise _RollBack
    except _RollBack:
        pass
    return outcome


def invalid_transition_body(machine, from_status: str, to_status: str, detail: str) -> dict:
    """The one 409 body of an illegal move of ``machine`` (``core.fsm``)."""
    return {"code": "invalid_transition", "detail": detail, "from": from_status, "to": to_status,
            "allowed": machine.allowed(from_status)}
