"""PostgreSQL stopped and started again under a running Daphne (issue 14, row 5). The experiment
has a cluster of its own (``DedicatedPostgres``, the test database's schema); the test run's
PostgreSQL is never touched."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed

from core.models import User
from tests.chaos.infra import DedicatedPostgres, http_get, wait_until
from tests.live import ROOT, LiveServer, WSClient, database_url_from_settings, subprocess_env

pytestmark = [pytest.mark.live, pytest.mark.chaos]


@pytest.fixture
def dedicated_pg(transactional_db):
    pg = DedicatedPostgres(database_url_from_settings())
    yield pg
    pg.close()


def create_user(pg: DedicatedPostgres) -> str:
    """A user in the dedicated database (through Django in a subprocess); returns its id."""
    code = ("import django; django.setup(); from core.models import User; "
            "print(User.objects.create_user('pg-chaos@example.com', 'horse-battery-9').pk)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=subprocess_env(DATABASE_URL=pg.url),
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


def assert_service_unavailable(result) -> None:
    assert result.status == 503, (result.status, result.body)
    assert isinstance(result.body, dict) and result.body["code"] == "service_unavailable", result.body
    assert int(result.headers["Retry-After"]) > 0


def test_postgres_stopped_gives_503_json_everywhere_and_recovers_without_a_restart(dedicated_pg, tmp_path):
    user_id = create_user(dedicated_pg)
    token = str(AccessToken.for_user(User(pk=uuid.UUID(user_id))))
    # DEBUG=1 as `make run` runs: an outage must not become Django's HTML debug page
    server = LiveServer(tmp_path / "daphne.log", DATABASE_URL=dedicated_pg.url, DEBUG="1")
    try:
        assert http_get(server.url + "/api/v1/products/").status == 200
        assert http_get(server.url + "/api/v1/me/", token=token).status == 200

        dedicated_pg.stop()
        for path, auth in [("/api/v1/products/", None), ("/api/v1/me/", token), ("/api/v1/auctions/", token)]:
            result = http_get(server.url + path, token=auth, timeout=30)
            print(f"PostgreSQL down: {path} {result.status} in {result.seconds:.2f} s")
            assert_service_unavailable(result)
        health = http_get(server.url + "/health/", timeout=6)
        assert health.status == 503 and health.body["database"] == "down" and health.body["redis"] == "ok"
        client = WSClient(server.ws_url, timeout=30)
        reply = client.request("auth", token=token)
        assert reply["status"] == "error" and reply["error"]["code"] == "unavailable", reply
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=10)
        assert closed.value.rcvd.code == 4503  # try again later, with the same token; never 4401
        pid = server.proc.pid

        dedicated_pg.start()
        started = time.monotonic()
        recovered = wait_until(lambda: (r := http_get(server.url + "/api/v1/me/", token=token, timeout=30)).status == 200 and r,
                               timeout=30, what="the first answer after PostgreSQL came back")
        assert recovered.body["id"] == user_id
        print(f"PostgreSQL back: first answer after {time.monotonic() - started:.2f} s")
        assert server.proc.pid == pid and server.proc.poll() is None  # the same process
        client = WSClient(server.ws_url)
        assert client.auth(token)["status"] == "ok"
        log = server.log()
        assert "Traceback" not in log.split("Service unavailable")[0]
    finally:
        server.stop()
