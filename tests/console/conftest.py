"""Fixtures of the console's browser tests: a Daphne process that serves the console (its own
origin allowed on /ws/, static files through WhiteNoise's finders, so no collectstatic), headless
Chromium driven by Playwright, and a helper that signs a page in.

Chromium is Debian's package (``apt-get install chromium``), launched through Playwright's
``executable_path``; Playwright's own browser downloads are never used. Without the binary the
browser tests skip with the reason below (CONSOLE_BROWSER overrides the path).
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

from tests.live import LiveServer, free_port

CHROMIUM = os.environ.get("CONSOLE_BROWSER") or shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = (
    "headless Chromium not found: install Debian's package (apt-get install -y chromium) or set CONSOLE_BROWSER "
    "to a Chromium binary; the console's browser tests need it"
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "console"

#: how long a DOM condition may take to become true (events normally arrive in milliseconds)
WAIT_MS = 5000


@pytest.fixture(scope="session")
def console_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """Daphne on the test database, with its own http origin allowed to open /ws/."""
    port = free_port()
    with mock.patch("tests.live.free_port", return_value=port):  # LiveServer picks its port itself
        server = LiveServer(
            tmp_path_factory.mktemp("console") / "daphne.log",
            WS_ALLOWED_ORIGINS=f"http://127.0.0.1:{port}",
            DEBUG="1",  # WhiteNoise serves static files from the apps (WHITENOISE_USE_FINDERS): no collectstatic
        )
    yield server
    server.stop()


@pytest.fixture
def console(console_server, transactional_db):
    """The running console server, for one test with committed (transactional) data."""
    return console_server


class Browser:
    """Headless Chromium, started on the first ``page()`` call.

    Playwright's sync API keeps an asyncio loop running on this thread while it is started, and
    Django refuses ORM calls (and ``async_to_sync`` publishing) on a thread with a running loop.
    So a test creates its data first, then opens pages, and does any later Django work through
    the ``dj`` fixture (another thread). The browser stops before the test database is flushed.
    """

    def __init__(self) -> None:
        self._pw = None
        self._chromium = None
        self._contexts = []

    def page(self, *, enforce_csp: bool = False):
        """A page in a fresh browser context (its own storage: another device or user).

        The server sends a Content-Security-Policy without ``'unsafe-eval'``, and Playwright's
        ``wait_for_function`` builds its predicate with ``new Function``, which that policy
        forbids. Feature tests therefore let the browser bypass the page's policy;
        ``enforce_csp=True`` (test_console_csp.py) keeps it, to prove the pages work under it."""
        if CHROMIUM is None:
            pytest.skip(SKIP_REASON)
        if self._chromium is None:
            from playwright.sync_api import sync_playwright

            self._pw = sync_playwright().start()
            self._chromium = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = self._chromium.new_context(viewport={"width": 1280, "height": 1000}, bypass_csp=not enforce_csp)
        context.set_default_timeout(WAIT_MS)
        self._contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    def stop(self) -> None:
        for context in self._contexts:
            context.close()
        if self._chromium is not None:
            self._chromium.close()
        if self._pw is not None:
            self._pw.stop()


@pytest.fixture
def browser(request):
    if CHROMIUM is None:
        pytest.skip(SKIP_REASON)  # before starting Daphne for nothing
    request.getfixturevalue("console")  # set up first, so torn down (DB flush) after the browser stops
    b = Browser()
    yield b
    b.stop()


@pytest.fixture
def dj(console):
    """``dj(fn, *args, **kwargs)`` runs Django work (ORM, REST through APIClient, publishing) on a
    thread without an event loop and returns its result."""
    from django.db import connections

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="django")

    def run(fn, *args, **kwargs):
        return pool.submit(fn, *args, **kwargs).result(timeout=30)

    yield run
    pool.submit(connections.close_all).result(timeout=30)
    pool.shutdown()


def sign_in(page, console, email: str, password: str) -> None:
    """Open /console/, sign in through the form, wait until the page's socket is authenticated."""
    page.goto(console.url + "/console/")
    page.fill("#signin-form input[name=email]", email)
    page.fill("#signin-form input[name=password]", password)
    page.click("#signin-form button[type=submit]")
    page.wait_for_function("window.consoleApp && consoleApp.ready && consoleApp.rt.state === 'open'")


def topic_state(page, topic: str, client: str = "main") -> dict | None:
    """The client's tracking of ``topic`` (seq, gaps, resets, recoveries, replayed, lastRecovered)."""
    return page.evaluate(
        "([client, topic]) => consoleApp.clients[client].topics().find((t) => t.topic === topic) || null", [client, topic]
    )


def shot(locator, name: str) -> Path:
    """Save a screenshot of ``locator`` as tests/artifacts/console/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    locator.screenshot(path=str(path))
    return path
