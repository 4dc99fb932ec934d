"""Client IP you can trust (issue 13, item 2): ``X-Forwarded-For`` counts only from
``TRUSTED_PROXIES``, and the Django admin's sign-in locks out after repeated failures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import timedelta
from urllib.error import URLError
from urllib.request import Request, urlopen

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core.client_ip import parse_trusted_proxies, resolve_client_ip
from realtime.streams import sync_client
from tests.factories.core import PASSWORD, AdminFactory, UserFactory
from tests.live import free_port, subprocess_env
from tests.security.production import PRODUCTION_ENV, ROOT, child_env, without

TOKEN = "/api/v1/auth/token/"
RESET = "/api/v1/auth/password-reset/"
ADMIN_LOGIN = "/admin/login/"
ATTACKER = "203.0.113.66"


@pytest.fixture
def throttle_rates(settings):
    """Low sign-in and reset budgets for one test, with no request counted yet (hour windows do
    not roll over during a test)."""
    def clear():
        client = sync_client()
        keys = list(client.scan_iter(match="test:*throttle_*"))
        if keys:
            client.delete(*keys)

    current = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**current, "DEFAULT_THROTTLE_RATES": {"auth": "5/hour", "password_reset": "3/hour"}}
    clear()
    yield
    clear()


NETS = parse_trusted_proxies(["10.0.0.0/8", "2001:db8::/32"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # untrusted peer: its header is ignored
        ("10.0.0.2", None, "10.0.0.2"),  # a proxy without a header: the proxy itself
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),  # one trusted proxy
        ("10.0.0.2", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the client forged the left part
        ("10.0.0.2", "198.51.100.7, 10.0.0.9", "198.51.100.7"),  # two proxies in a chain
        ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # every hop trusted: the left-most
        ("10.0.0.2", "garbage, 198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, garbage", "10.0.0.2"),  # a broken chain is not believed
        ("10.0.0.2", "[2001:db9::1]:443", "2001:db9::1"),
        ("::ffff:10.0.0.2", "198.51.100.7", "198.51.100.7"),  # IPv4-mapped proxy address
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(peer, forwarded_for, client):
    """Row 7: the resolution rule, case by case."""
    assert resolve_client_ip(peer, forwarded_for, NETS) == client


def test_without_trusted_proxies_the_socket_peer_is_the_client():
    """Row 7: no TRUSTED_PROXIES, no trust."""
    assert resolve_client_ip("203.0.113.5", "198.51.100.7", ()) == "203.0.113.5"


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["sign-in", "password reset"])
def test_rotating_x_forwarded_for_from_an_untrusted_peer_still_gets_429(throttle_rates, settings, endpoint):
    """Row 7: a new X-Forwarded-For on every attempt no longer buys a new budget: the sign-in
    (5/hour here) and the password reset (3/hour) throttles trigger."""
    settings.TRUSTED_PROXIES = []
    UserFactory(email="victim@example.com")
    path, body, budget = (
        (TOKEN, {"email": "victim@example.com", "password": "guess"}, 5) if endpoint == "sign-in"
        else (RESET, {"email": "victim@example.com"}, 3)
    )
    statuses = []
    for i in range(budget + 2):
        # a different target email per reset keeps the per-email budget out of the way
        data = body if endpoint == "sign-in" else {"email": f"victim{i}@example.com"}
        response = APIClient(REMOTE_ADDR=ATTACKER).post(path, data, format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        statuses.append(response.status_code)
    assert statuses[-2:] == [429, 429] and 429 not in statuses[:budget], statuses


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(throttle_rates, settings):
    """Row 7: from a configured proxy, X-Forwarded-For names the client: two clients behind one
    proxy have budgets of their own, and a client forging the header's left part cannot escape its own."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")

    def sign_in(forwarded_for: str) -> int:
        return proxy.post(TOKEN, {"email": "x@example.com", "password": "guess"}, format="json",
                          HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    first_client = [sign_in(f"1.2.3.{i}, 198.51.100.1") for i in range(6)]
    second_client = sign_in("198.51.100.2")
    assert first_client == [401] * 5 + [429]
    assert second_client == 401


@pytest.mark.django_db
def test_forwarded_proto_from_an_untrusted_peer_does_not_make_a_request_secure(settings, client):
    """Row 7: the middleware drops forwarding headers a non-proxy sent, so X-Forwarded-Proto
    cannot pose as HTTPS (SECURE_PROXY_SSL_HEADER) and X-Forwarded-For reaches no view."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    untrusted = client.get("/api/v1/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR=ATTACKER)
    trusted = client.get("/api/v1/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.2")
    assert untrusted.json()["websocket"].startswith("ws://")
    assert trusted.json()["websocket"].startswith("wss://")


# --- the Django admin's sign-in ----------------------------------------------------------------


def admin_sign_in(email: str, password: str, *, remote: str = ATTACKER, forwarded_for: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return Client(REMOTE_ADDR=remote).post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"},
                                          **extra)


@pytest.mark.django_db
def test_25_wrong_admin_passwords_lock_the_account_out_from_that_address(settings):
    """Row 8: the AXES_FAILURE_LIMIT-th (5th) failure for one (username, client IP) locks the pair
    out: the admin sign-in answers 429, even to the right password and however X-Forwarded-For
    rotates; another address is not locked; after the cool-off the right password works again."""
    settings.TRUSTED_PROXIES = []
    AdminFactory(email="staff@example.com")
    statuses = [admin_sign_in("staff@example.com", f"wrong-{i}", forwarded_for=f"198.51.100.{i}").status_code
                for i in range(25)]
    assert statuses[:4] == [200] * 4  # the form again, with an error
    assert set(statuses[4:]) == {429}, statuses
    assert admin_sign_in("Staff@Example.com", PASSWORD).status_code == 429  # same account, any case
    assert admin_sign_in("staff@example.com", PASSWORD, remote="198.51.100.200").status_code == 302

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = admin_sign_in("staff@example.com", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.django_db
def test_admin_lockout_counts_the_client_behind_a_trusted_proxy(settings):
    """Rows 7 and 8: behind the proxy the forwarded client is locked out, not the proxy (other
    clients of the same proxy can still sign in)."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    AdminFactory(email="staff@example.com")
    for i in range(5):
        admin_sign_in("staff@example.com", f"wrong-{i}", remote="10.0.0.2", forwarded_for=f"9.9.9.{i}, 198.51.100.1")
    assert admin_sign_in("staff@example.com", PASSWORD, remote="10.0.0.2", forwarded_for="198.51.100.1").status_code == 429
    assert admin_sign_in("staff@example.com", PASSWORD, remote="10.0.0.2", forwarded_for="198.51.100.2").status_code == 302
    assert AccessAttempt.objects.filter(ip_address="198.51.100.1").exists()
    assert not AccessAttempt.objects.filter(ip_address="10.0.0.2").exists()


@pytest.mark.django_db
def test_api_sign_in_failures_neither_lock_nor_fill_the_admin_lockout_table():
    """Row 8 scope: axes guards the admin only; the API has its throttles (a locked admin login
    must not lock the user's app sign-in, and failed app sign-ins write no axes rows)."""
    user = UserFactory()
    for _ in range(6):
        APIClient(REMOTE_ADDR=ATTACKER).post(TOKEN, {"email": user.email, "password": "nope"}, format="json")
    assert AccessAttempt.objects.count() == 0
    ok = APIClient(REMOTE_ADDR=ATTACKER).post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert ok.status_code == 200


# --- Daphne as the image starts it ------------------------------------------------------------------


def image_command() -> list[str]:
    """The Dockerfile's CMD (a JSON array)."""
    text = (ROOT / "Dockerfile").read_text()
    return json.loads(re.search(r"^CMD (\[.*?\])", text, flags=re.MULTILINE | re.DOTALL).group(1).replace("\\\n", ""))


@pytest.fixture(scope="module")
def image_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """Daphne started with exactly the Dockerfile's command line (bound to 127.0.0.1 and a free
    port instead of 0.0.0.0:8000), production settings, no trusted proxy, plain HTTP, and a sign-in
    budget of 3 per hour."""
    argv = image_command()
    port = free_port()
    argv[argv.index("-b") + 1], argv[argv.index("-p") + 1] = "127.0.0.1", str(port)
    assert argv[0] == "python"
    services = subprocess_env()
    env = child_env({**without(PRODUCTION_ENV, "TRUSTED_PROXIES"), "SECURE_SSL_REDIRECT": "0", "THROTTLE_AUTH": "3/hour",
                     "ALLOWED_HOSTS": "127.0.0.1"},
                    services={"DATABASE_URL": services["DATABASE_URL"], "REDIS_URL": services["REDIS_URL"]})
    log = open(tmp_path_factory.mktemp("image") / "daphne.log", "wb")
    proc = subprocess.Popen([sys.executable, *argv[1:]], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urlopen(url + "/health/", timeout=1):
                break
        except (URLError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"daphne did not start: {argv}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.mark.live
def test_daphne_as_the_image_runs_it_ignores_x_forwarded_for_from_clients(image_server, transactional_db):
    """Row 7 end to end: the image used to run Daphne with --proxy-headers, which made every
    client's own X-Forwarded-For its address, so a new header per sign-in attempt never hit the
    throttle. Run as the Dockerfile says, the 4th attempt of a 3/hour budget gets 429 however
    the header rotates."""
    statuses = []
    for i in range(5):
        request = Request(image_server + "/api/v1/auth/token/", method="POST",
                          data=json.dumps({"email": "nobody@example.com", "password": "guess"}).encode(),
                          headers={"Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{i}"})
        try:
            with urlopen(request, timeout=10) as response:
                statuses.append(response.status)
        except Exception as exc:  # urllib raises HTTPError for 4xx
            statuses.append(getattr(exc, "code", None))
    assert statuses == [401, 401, 401, 429, 429], statuses
