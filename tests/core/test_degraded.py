"""Degraded modes in one process: the token-revocation policy when Redis is down, outages as 503
``service_unavailable`` with ``Retry-After`` (never an HTML page from /api/), and /health/ naming
what is down. The same behaviour against real killed/stopped/frozen servers: tests/chaos."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from core import health
from core.exceptions import ApplicationError, ServiceUnavailable
from core.models import User
from core.tokens import denylist_breaker, is_access_token_revoked, revocation_checks_skipped, verify_access_token
from tests.conftest import client_for, tokens_for
from tests.factories.core import PASSWORD, UserFactory

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


@pytest.fixture(autouse=True)
def closed_breaker():
    denylist_breaker.record_success()
    yield
    denylist_breaker.record_success()


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": DEAD_REDIS}}


# --- the access-token revocation check --------------------------------------------------------


def test_redis_down_fails_open_counts_and_stops_asking_while_the_breaker_is_open(redis_down):
    skipped, failures = revocation_checks_skipped(), denylist_breaker.failures
    assert is_access_token_revoked("any-jti") is False
    assert is_access_token_revoked("other-jti") is False
    assert revocation_checks_skipped() == skipped + 2
    assert denylist_breaker.failures == failures + 1  # the second check did not wait on Redis
    assert denylist_breaker.is_open


def test_redis_down_with_the_policy_off_refuses_with_service_unavailable(redis_down, settings):
    settings.JWT_REVOCATION_FAIL_OPEN = False
    with pytest.raises(ServiceUnavailable) as info:
        is_access_token_revoked("any-jti")
    assert info.value.status == 503 and info.value.service == "redis"


@pytest.mark.django_db
def test_signed_in_rest_works_while_redis_is_down(redis_down):
    user = UserFactory()
    response = client_for(user).get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["id"] == str(user.pk)


@pytest.mark.django_db
def test_signed_in_rest_is_503_with_retry_after_when_the_policy_fails_closed(redis_down, settings):
    settings.JWT_REVOCATION_FAIL_OPEN = False
    response = client_for(UserFactory()).get("/api/v1/me/")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable" and int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_a_token_that_cannot_be_checked_is_not_called_invalid(monkeypatch):
    token = tokens_for(UserFactory())["access"]

    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(type(User.objects), "get", database_down)
    with pytest.raises(ServiceUnavailable) as info:
        verify_access_token(token)
    assert info.value.service == "database"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["\ud800", "a.b.c", "x" * 5000, "", None, 12])
def test_malformed_tokens_are_invalid_not_errors(raw):
    with pytest.raises(ApplicationError) as info:
        verify_access_token(raw)
    assert info.value.code == "invalid_token"


@pytest.mark.django_db
def test_a_token_with_a_malformed_user_claim_is_invalid():
    token = AccessToken.for_user(UserFactory())
    token["user_id"] = "not-a-uuid"
    with pytest.raises(ApplicationError) as info:
        verify_access_token(str(token))
    assert info.value.code == "invalid_token"


# --- outages as 503, never HTML from /api/ ----------------------------------------------------


@pytest.mark.urls("tests.core.degraded_urls")
@pytest.mark.parametrize("path", ["/api/v1/database-down/", "/api/v1/redis-down/", "/console/database-down/"])
@pytest.mark.parametrize("debug", [False, True])
def test_an_outage_is_503_json_with_retry_after_on_every_path(path, debug, settings):
    settings.DEBUG = debug
    response = APIClient().get(path)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "service_unavailable" and response.json()["detail"]
    assert int(response["Retry-After"]) > 0


@pytest.mark.urls("tests.core.degraded_urls")
def test_a_bug_under_debug_is_json_500_on_api_paths(settings):
    settings.DEBUG = True
    response = APIClient().get("/api/v1/plain-bug/")
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "detail": "Internal error; nothing was changed."}


# --- /health/ ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_names_redis_when_it_is_down(settings):
    settings.REDIS_URL = DEAD_REDIS
    response = APIClient().get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("down", "ok", "down")
    assert body["checks"]["redis"]["error"] == "ConnectionError"  # the class only: no host or port


@pytest.mark.django_db
def test_health_answers_in_time_when_a_check_hangs_and_does_not_pile_up_threads(settings, monkeypatch):
    settings.HEALTH_TIMEOUT = 0.3
    release = threading.Event()
    monkeypatch.setattr(health, "_check_database", lambda: release.wait(10))
    try:
        first = APIClient().get("/health/").json()
        second = APIClient().get("/health/").json()
    finally:
        release.set()
    assert first["database"] == "down" and first["checks"]["database"]["error"] == "timeout"
    assert second["checks"]["database"]["error"] == "previous check still running"
    assert first["redis"] == second["redis"] == "ok"


# --- rate limits of the accounts endpoints ----------------------------------------------------


@pytest.fixture
def throttle_breaker_closed():
    from core.throttles import throttle_breaker

    throttle_breaker.record_success()
    yield
    throttle_breaker.record_success()


@pytest.mark.django_db
def test_sign_in_is_still_rate_limited_in_process_while_redis_is_down(redis_down, settings, throttle_breaker_closed):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "3/min", "password_reset": "3/min"}}
    user = UserFactory()
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    body = {"email": user.email, "password": PASSWORD}
    codes = [client.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]  # sign-in works without Redis, and is still limited
