"""Redis killed, restarted and frozen under a real Daphne and a real Celery worker (issue 14,
rows 1–4). Each experiment has a Redis of its own (``DedicatedRedis``); the test run's Redis and
PostgreSQL are never touched. Every wait is bounded: a stall fails the test instead of hanging it.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed

from auctions.tasks import close_auction
from core.celery import app as celery_app
from core.tokens import revoke_access_token
from realtime.tasks import sweep_outbox
from tests.chaos.infra import CeleryWorker, DedicatedRedis, http_get, status_of, wait_until
from tests.conftest import tokens_for
from tests.factories.auctions import live_auction
from tests.factories.core import UserFactory
from tests.live import LiveServer, WSClient

pytestmark = [pytest.mark.live, pytest.mark.chaos]

PRODUCTS = "/api/v1/products/"


@pytest.fixture
def redis_server():
    server = DedicatedRedis()
    yield server
    server.close()


@pytest.fixture
def daphne_on(transactional_db, tmp_path):
    """``daphne_on(redis, **env)``: a Daphne on the test database and the given Redis."""
    servers = []

    def start(redis: DedicatedRedis, **env) -> LiveServer:
        servers.append(LiveServer(tmp_path / f"daphne{len(servers)}.log", REDIS_URL=redis.url, TEST_REDIS_URL=redis.url,
                                  **env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def deny(redis: DedicatedRedis, access_token: str) -> None:
    """Revoke a token on that Redis, as a logout does (``core.tokens.revoke_access_token``)."""
    cache = {**settings.CACHES["default"], "LOCATION": redis.url}
    with override_settings(CACHES={**settings.CACHES, "default": cache}):
        revoke_access_token(AccessToken(access_token))


def socket_auth_outcome(server: LiveServer, token: str) -> tuple[dict, int | None]:
    """Open a socket, send ``auth``; return the reply and the close code that followed (None if
    the socket stayed open)."""
    client = WSClient(server.ws_url, timeout=15)
    reply = client.request("auth", token=token)
    try:
        client.recv(timeout=5)
        code = None
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        code = None
    client.close()
    return reply, code


def test_redis_killed_rest_works_on_the_revocation_policy_and_new_sockets_get_4503(redis_server, daphne_on):
    """Rows 2 and 4: Redis down → signed-in REST keeps working (the denylist check fails open,
    counted), /health/ names Redis, and a new socket's auth is answered ``unavailable`` + 4503,
    never 4401; after Redis returns, a revoked token is refused again without a restart."""
    server = daphne_on(redis_server)
    user = UserFactory()
    token, revoked = tokens_for(user)["access"], tokens_for(user)["access"]
    deny(redis_server, revoked)
    assert http_get(server.url + PRODUCTS, token=token).status == 200
    assert http_get(server.url + PRODUCTS, token=revoked).status == 401

    redis_server.kill()
    ok = http_get(server.url + PRODUCTS, token=token, timeout=10)
    assert ok.status == 200, ok.body
    assert http_get(server.url + PRODUCTS, token=revoked, timeout=10).status == 200  # the documented fail-open
    health = http_get(server.url + "/health/", timeout=5)
    assert health.status == 503 and health.body["redis"] == "down" and health.body["database"] == "ok", health.body
    assert health.body["token_revocation_checks_skipped"] >= 2
    reply, code = socket_auth_outcome(server, token)
    assert reply["status"] == "error" and reply["error"]["code"] == "unavailable", reply
    assert reply["error"]["retry_after_ms"] > 0
    assert code == 4503  # try again later; never 4401

    redis_server.start()
    wait_until(lambda: status_of(server.url + "/health/") == 200, timeout=20, what="health after restart")
    wait_until(lambda: status_of(server.url + PRODUCTS, token=revoked) == 401, timeout=15,
               what="the denylist being checked again")
    client = WSClient(server.ws_url)
    assert client.auth(token)["status"] == "ok"
    assert client.request("subscribe", topic=f"user:{user.pk}")["status"] == "ok"
    assert "Traceback" not in server.log().split("WSCONNECT")[0]  # start-up was clean


def test_redis_killed_with_a_fail_closed_policy_answers_503_with_retry_after(redis_server, daphne_on):
    server = daphne_on(redis_server, JWT_REVOCATION_FAIL_OPEN="0")
    token = tokens_for(UserFactory())["access"]
    redis_server.kill()
    refused = http_get(server.url + PRODUCTS, token=token, timeout=10)
    assert refused.status == 503, refused.body
    assert refused.body["code"] == "service_unavailable" and int(refused.headers["Retry-After"]) > 0
    assert http_get(server.url + PRODUCTS, timeout=10).status == 200  # anonymous reads need no token check


def test_redis_frozen_health_answers_in_time_and_requests_do_not_stall(redis_server, daphne_on):
    """Row 3: with Redis stopped by SIGSTOP (connections open, nothing answers) /health/ says
    ``redis: down`` within HEALTH_TIMEOUT instead of blocking, and a signed-in request costs at
    most one Redis read timeout, then none while the circuit breaker is open."""
    server = daphne_on(redis_server)
    user = UserFactory()
    token = tokens_for(user)["access"]
    assert http_get(server.url + PRODUCTS, token=token).status == 200  # pooled connections exist
    socket = WSClient(server.ws_url, timeout=10)
    socket.auth(token)
    redis_server.freeze()
    try:
        health = http_get(server.url + "/health/", timeout=6)  # HEALTH_TIMEOUT is 1.5 s
        assert health.status == 503, health.body
        assert (health.body["checks"]["redis"]["status"], health.body["checks"]["redis"]["error"]) == ("down", "timeout")
        assert health.body["database"] == "ok"
        first = http_get(server.url + PRODUCTS, token=token, timeout=10)  # REDIS_SOCKET_TIMEOUT is 2 s
        second = http_get(server.url + PRODUCTS, token=token, timeout=10)
        assert first.status == second.status == 200
        refused = socket.request("subscribe", topic=f"user:{user.pk}")  # history lives in Redis
        assert refused["status"] == "error" and refused["error"]["code"] == "unavailable", refused
        print(f"frozen Redis: /health/ {health.seconds:.2f} s, first request {first.seconds:.2f} s, "
              f"second {second.seconds:.2f} s")
    finally:
        redis_server.thaw()
    wait_until(lambda: status_of(server.url + "/health/") == 200, timeout=20, what="health after thaw")


def test_worker_survives_redis_killed_with_a_pending_eta_close_task(redis_server, tmp_path, transactional_db):
    """Row 1: a worker holding an auction's ETA ``close_auction`` task lives through a Redis
    restart (celery 5.7.0 died with ``AttributeError: 'NoneType' object has no attribute
    'hostname'``; core.worker) and keeps consuming."""
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorker(tmp_path / "worker.log", queue=queue, REDIS_URL=redis_server.url,
                          TEST_REDIS_URL=redis_server.url)
    conf = celery_app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    try:
        auction = live_auction(ends_in=timedelta(seconds=60))
        with celery_app.connection_for_write(redis_server.url) as conn:
            close_auction.apply_async(args=[str(auction.pk)], eta=auction.ends_at, queue=queue, connection=conn)
        wait_until(lambda: "close_auction" in worker.log().split(" ready.")[-1], timeout=20, what="the ETA task held")

        redis_server.kill()
        wait_until(lambda: "lost the broker" in worker.log(), timeout=20, what="the worker noticing")
        time.sleep(2)
        redis_server.start()
        wait_until(lambda: worker.log().count("Connected to redis://") >= 2 or worker.proc.poll() is not None,
                   timeout=40, what="the worker reconnecting")
        log = worker.log()
        assert worker.proc.poll() is None and "Unrecoverable error" not in log, log[-4000:]

        with celery_app.connection_for_write(redis_server.url) as conn:
            sweep_outbox.apply_async(queue=queue, connection=conn)
        wait_until(lambda: "sweep_outbox" in worker.log() and "succeeded" in worker.log().split("sweep_outbox")[-1],
                   timeout=30, what="a task after the restart")
        assert worker.proc.poll() is None
    finally:
        conf.task_always_eager = eager
        worker.stop()
