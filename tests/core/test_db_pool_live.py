"""A Daphne process keeps its PostgreSQL connections in one bounded pool.

Under ASGI each HTTP request runs in a fresh thread. With persistent connections
(``CONN_MAX_AGE > 0``) every finished request thread left its connection open until the garbage
collector found it; two test Daphne processes reached PostgreSQL's ``max_connections`` (100) that
way. ``core.settings`` therefore uses Django's ``pool`` option, and this test counts the
connections a real Daphne process holds after many requests, sequential and concurrent, by the
``application_name`` it connects with (libpq's ``PGAPPNAME``).
"""

import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

import pytest
from django.db import connection

from tests.live import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

POOL_MAX = 3


def connections_named(name: str) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name])
        return cur.fetchone()[0]


def get(url: str) -> int:
    with urlopen(url, timeout=10) as r:
        return r.status


def test_many_requests_use_at_most_the_pool_size_of_connections(tmp_path):
    app_name = f"pooltest-{uuid.uuid4().hex[:8]}"
    server = LiveServer(tmp_path / "daphne.log", PGAPPNAME=app_name, DB_POOL_MAX_SIZE=str(POOL_MAX), DB_POOL_MIN_SIZE="1")
    try:
        statuses = [get(server.url + "/health/") for _ in range(40)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses += list(pool.map(lambda _: get(server.url + "/health/"), range(80)))
        assert statuses == [200] * 120  # /health/ runs SELECT 1: every request used the database
        held = connections_named(app_name)
        assert 1 <= held <= POOL_MAX, (held, server.log()[-2000:])
    finally:
        server.stop()
