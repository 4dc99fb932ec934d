"""Shared fixtures. Every test runs on real PostgreSQL (pytest-django's test database) and real
Redis (DB 1 of the same server, see ``core.settings_test``).

Every realtime event published while the suite runs is validated against its schema
(``realtime.events``; ``REALTIME["VALIDATE_EVENTS"]`` is on in ``core.settings_test``, so an
invalid one raises where it is published) and recorded in ``REALTIME_EVENT_LOG``, which this
module sets before any server process starts (Daphne and Celery inherit it). At the end of the
session an invalid event recorded by *any* process fails the run, even one a service swallowed,
and the summary says how many events of how many types were checked and by how many processes.
"""

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.fsm import InvalidTransition
from tests.factories.core import AdminFactory, UserFactory


def pytest_configure(config):
    log = Path(tempfile.mkdtemp(prefix="realtime-events-")) / "events.log"
    log.touch()
    os.environ["REALTIME_EVENT_LOG"] = str(log)
    config.stash[EVENT_LOG] = log


EVENT_LOG = pytest.StashKey[Path]()


def read_event_log(path: Path) -> tuple[Counter, list[str], set[str]]:
    """``(ok events per type, invalid lines, pids)`` of a ``REALTIME_EVENT_LOG`` file."""
    ok: Counter = Counter()
    invalid, pids = [], set()
    for line in path.read_text(errors="replace").splitlines():
        pid, type_, outcome, detail = (line.split("\t", 3) + ["", "", "", ""])[:4]
        pids.add(pid)
        if outcome == "ok":
            ok[type_] += 1
        else:
            invalid.append(f"{type_} (pid {pid}): {detail}")
    return ok, invalid, pids


def pytest_sessionfinish(session, exitstatus):
    log = session.config.stash.get(EVENT_LOG, None)
    if log is None or not log.exists():
        return
    ok, invalid, pids = read_event_log(log)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and (ok or invalid):
        from realtime.asyncapi import documented_event_types  # cycle-breaker: Django is set up by now

        unseen = sorted({cls.type for cls in documented_event_types() if cls.topics is not None} - set(ok))
        reporter.write_line("")
        reporter.write_sep("-", f"realtime events validated: {sum(ok.values())} of {len(ok)} types, "
                                f"from {len(pids)} processes; invalid: {len(invalid)}")
        if unseen and len(unseen) <= 10:
            reporter.write_line(f"event types this run did not publish: {', '.join(unseen)}")
        for line in invalid[:50]:
            reporter.write_line(f"INVALID EVENT {line}", red=True)
    if invalid:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
