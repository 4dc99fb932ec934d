"""Production refuses unsafe defaults (issue 13, item 1): the processes are started for real, with
``core.settings`` and the environment of each case (``tests/security/production.py``)."""

from __future__ import annotations

import http.client
import io
import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import yaml
from django.core.management import CommandError, call_command

from core.models import User
from core.production import DEV_SECRET_KEY, DEV_WEBHOOK_SECRET
from tests.factories.core import AdminFactory, UserFactory
from tests.live import LiveServer, WSClient, subprocess_env
from tests.security.production import PRODUCTION_ENV, ROOT, child_env, run_django, without

SETUP = "import django; django.setup()"
SHOW_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
    "'DEBUG': s.DEBUG, 'HSTS': s.SECURE_HSTS_SECONDS, 'SSL_REDIRECT': s.SECURE_SSL_REDIRECT, "
    "'SESSION_COOKIE_SECURE': s.SESSION_COOKIE_SECURE, 'CSRF_COOKIE_SECURE': s.CSRF_COOKIE_SECURE, "
    "'PROXY_SSL_HEADER': s.SECURE_PROXY_SSL_HEADER}))"
)


def refusal(result) -> str:
    assert result.returncode != 0, f"started although it should have refused:\n{result.stdout}\n{result.stderr}"
    assert "ImproperlyConfigured: Refusing to start with DEBUG off" in result.stderr, result.stderr[-2000:]
    return result.stderr


def test_with_nothing_set_debug_is_off_and_every_development_default_is_refused():
    """Row 1, row 11 ("DEBUG defaults to on"): `DEBUG=0` and nothing else set, and even DEBUG
    unset, no process starts; the message names every variable to set."""
    for env in ({}, {"DEBUG": "0"}):
        message = refusal(run_django("-c", SETUP, env=env))
        for name in ("SECRET_KEY", "PAYMENT_WEBHOOK_SECRET", "ALLOWED_HOSTS", "WS_ALLOWED_ORIGINS", "PAYMENT_GATEWAY"):
            assert f"  - {name}" in message, (name, message)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (without(PRODUCTION_ENV, "SECRET_KEY"), "SECRET_KEY"),
        ({**PRODUCTION_ENV, "SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({**PRODUCTION_ENV, "SECRET_KEY": "short-but-set"}, "SECRET_KEY"),
        ({**PRODUCTION_ENV, "SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "SECRET_KEY"),
        ({**PRODUCTION_ENV, "JWT_SIGNING_KEY": DEV_SECRET_KEY}, "JWT_SIGNING_KEY"),
        (without(PRODUCTION_ENV, "PAYMENT_WEBHOOK_SECRET"), "PAYMENT_WEBHOOK_SECRET"),
        ({**PRODUCTION_ENV, "PAYMENT_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET}, "PAYMENT_WEBHOOK_SECRET"),
        (without(PRODUCTION_ENV, "ALLOWED_HOSTS"), "ALLOWED_HOSTS"),
        ({**PRODUCTION_ENV, "ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        (without(PRODUCTION_ENV, "WS_ALLOWED_ORIGINS"), "WS_ALLOWED_ORIGINS"),
        ({**PRODUCTION_ENV, "WS_ALLOWED_ORIGINS": "*"}, "WS_ALLOWED_ORIGINS"),
        ({**PRODUCTION_ENV, "WS_ALLOWED_ORIGINS": "market.example.com"}, "WS_ALLOWED_ORIGINS"),
        # Row 2: the test gateway (tok_visa pays anything) needs an explicit opt-in.
        (without(PRODUCTION_ENV, "ALLOW_TEST_PAYMENTS"), "PAYMENT_GATEWAY"),
        ({**PRODUCTION_ENV, "ALLOW_TEST_PAYMENTS": "0"}, "PAYMENT_GATEWAY"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_unsafe_production_setting_is_refused_by_name(change, named):
    """Rows 1 and 2: one unsafe value among otherwise good production settings stops start-up,
    and the message names exactly that variable."""
    message = refusal(run_django("-c", SETUP, env=change))
    listed = re.findall(r"^  - ([A-Z_]+)", message, flags=re.MULTILINE)
    assert listed == [named], message


def test_a_malformed_trusted_proxy_is_refused_at_start_up():
    """Row 7: a typo in TRUSTED_PROXIES fails at start-up instead of silently trusting nobody (or everybody)."""
    result = run_django("-c", SETUP, env={**PRODUCTION_ENV, "TRUSTED_PROXIES": "10.0.0.1/8"})
    assert result.returncode != 0 and "TRUSTED_PROXIES: '10.0.0.1/8'" in result.stderr, result.stderr[-1500:]


def test_check_deploy_is_clean_and_the_test_gateway_opt_in_is_logged():
    """Rows 2 and 11: `manage.py check --deploy` passes at warning level with the documented
    production settings (HSTS, SSL redirect, secure cookies; W004/W008/W012/W016 gone), and
    running the test gateway with DEBUG off says so in the start-up log."""
    result = run_django("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING core.startup: ALLOW_TEST_PAYMENTS=1" in result.stderr

    shown = json.loads(run_django("-c", SHOW_SETTINGS, env=PRODUCTION_ENV).stdout.strip().splitlines()[-1])
    assert shown == {"DEBUG": False, "HSTS": 31_536_000, "SSL_REDIRECT": True, "SESSION_COOKIE_SECURE": True,
                     "CSRF_COOKIE_SECURE": True, "PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}
    # No trusted proxy: X-Forwarded-Proto decides nothing.
    shown = json.loads(run_django("-c", SHOW_SETTINGS, env=without(PRODUCTION_ENV, "TRUSTED_PROXIES")).stdout.strip().splitlines()[-1])
    assert shown["PROXY_SSL_HEADER"] is None


def test_seed_demo_refuses_to_run_in_production():
    """Row 10: `manage.py seed_demo` with DEBUG off exits with an error before touching the
    database (here there is none to touch)."""
    result = run_django("manage.py", "seed_demo", env=PRODUCTION_ENV)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "seed_demo refuses to run with DEBUG off" in result.stderr


@pytest.mark.django_db
def test_seed_demo_creates_nothing_with_debug_off(settings):
    """Row 10, in-process: no superuser admin@demo.market / demo12345 appears."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.filter(email__endswith="@demo.market").exists()


@pytest.mark.django_db
def test_console_lists_no_demo_accounts_with_debug_off(client, settings):
    """Row 10: with DEBUG off `/console/` names no demo account (even if such accounts exist)
    and prefills no password."""
    UserFactory(email="admin@demo.market")
    UserFactory(email="buyer1@demo.market")
    settings.DEBUG = False
    html = client.get("/console/").content.decode()
    config = json.loads(html.split('<script id="console-config" type="application/json">')[1].split("</script>")[0])
    assert config["demo_accounts"] == [] and config["demo_password"] == ""
    assert "demo.market" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/console/", "/admin/login/", "/api/docs/", "/api/v1/"])
def test_pages_carry_a_content_security_policy_without_inline_scripts(client, path):
    """Row 11: a CSP on the console, the admin, Swagger UI and the browsable API: scripts only from
    this origin, no framing; and the pages have no inline script that the policy would block
    (tests/console/test_console_csp.py runs them in Chromium)."""
    response = client.get(path, HTTP_ACCEPT="text/html")  # /api/v1/ then renders DRF's browsable API
    assert response.status_code == 200, (path, response.status_code)
    policy = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    inline = [m for m in scripts if "src=" not in m and "application/json" not in m]
    assert scripts and inline == [], (path, scripts)


def test_compose_and_the_image_carry_no_secret_and_no_proxy_header_trust():
    """Rows 1 and 7: docker-compose.yml requires SECRET_KEY and PAYMENT_WEBHOOK_SECRET instead of
    defaulting them, the image runs with DEBUG off, and no launcher runs Daphne with
    --proxy-headers (which believes X-Forwarded-For from any client)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["x-app"]["environment"]
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert environment["PAYMENT_WEBHOOK_SECRET"].startswith("${PAYMENT_WEBHOOK_SECRET:?")
    assert environment["DEBUG"] == "0"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ENV DEBUG=0" in dockerfile
    for path in ("Dockerfile", "docker-compose.yml", "scripts/run.py", "tests/live.py"):
        code = [line for line in (ROOT / path).read_text().splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in code if '"--proxy-headers"' in line or "--proxy-headers " in line], path


# --- a real Daphne with production settings ---------------------------------------------------------

#: the "load balancer": requests from this address may carry X-Forwarded-For / -Proto
PROXY_ADDRESS = "127.0.0.2"


@pytest.fixture(scope="module")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """Daphne through the production launcher with ``core.settings`` and DEBUG off, on the test
    database; 127.0.0.2 is its trusted proxy, 127.0.0.1 an ordinary client."""
    env = child_env({**PRODUCTION_ENV, "TRUSTED_PROXIES": PROXY_ADDRESS, "THROTTLE_AUTH": "3/hour"}, services={})
    services = subprocess_env()
    env.update(DATABASE_URL=services["DATABASE_URL"], REDIS_URL=services["REDIS_URL"])
    server = LiveServer(tmp_path_factory.mktemp("production") / "daphne.log", launcher="realtime.daphne", **env)
    yield server
    server.stop()


def request(server, method: str, path: str, *, source: str = "127.0.0.1", headers=None, body=None):
    """One HTTP request to ``server`` from the local address ``source``; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Host": "market.example.com", **({"Content-Type": "application/json"} if body else {}),
                              **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def access_token(user, key: str) -> str:
    """An access JWT for ``user`` signed with ``key`` (what simplejwt would issue with that key)."""
    now = datetime.now(tz=timezone.utc)
    claims = {"token_type": "access", "exp": int((now + timedelta(minutes=5)).timestamp()), "iat": int(now.timestamp()),
              "jti": uuid.uuid4().hex, "user_id": str(user.pk)}
    return jwt.encode(claims, key, algorithm="HS256")


@pytest.mark.live
def test_production_server_refuses_a_token_forged_with_the_development_key(production_server, transactional_db):
    """Row 1 end to end: behind its proxy (HTTPS), a production Daphne answers a token signed with
    the default key of core/settings.py with 401 on REST and `invalid_token` on the socket, and
    accepts one signed with its own key. Also row 11: HSTS and CSP on the answers."""
    admin = AdminFactory()
    forged, genuine = access_token(admin, DEV_SECRET_KEY), access_token(admin, PRODUCTION_ENV["SECRET_KEY"])
    via_proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}

    status, headers, body = request(production_server, "GET", "/api/v1/me/", source=PROXY_ADDRESS,
                                    headers={**via_proxy, "Authorization": f"Bearer {forged}"})
    assert status == 401 and json.loads(body)["code"] in ("token_not_valid", "authentication_failed"), body
    status, headers, body = request(production_server, "GET", "/api/v1/me/", source=PROXY_ADDRESS,
                                    headers={**via_proxy, "Authorization": f"Bearer {genuine}"})
    assert status == 200 and json.loads(body)["email"] == admin.email
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in headers["content-security-policy"]

    socket = WSClient(production_server.ws_url)
    try:
        reply = socket.request("auth", token=forged)
        assert reply["status"] == "error" and reply["error"]["code"] == "invalid_token", reply
    finally:
        socket.close()


@pytest.mark.live
def test_production_server_trusts_forwarding_headers_only_from_its_proxy(production_server, transactional_db):
    """Rows 7 and 11: a client that claims HTTPS with X-Forwarded-Proto is still redirected to
    HTTPS (the header is dropped: Daphne runs without --proxy-headers); /health/ answers probes by
    IP over plain HTTP; through the trusted proxy the right-most untrusted X-Forwarded-For hop is
    the client, so a rotating forged left part shares one sign-in budget."""
    status, headers, _ = request(production_server, "GET", "/api/v1/me/",
                                 headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"})
    assert status == 301 and headers["location"] == "https://market.example.com/api/v1/me/"
    status, _, body = request(production_server, "GET", "/health/", headers={"Host": "10.20.30.40:8000"})
    health = json.loads(body)
    assert status == 200 and (health["status"], health["database"], health["redis"]) == ("ok", "ok", "ok")

    def sign_in(forwarded_for: str) -> int:
        return request(production_server, "POST", "/api/v1/auth/token/", source=PROXY_ADDRESS,
                       headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": forwarded_for},
                       body={"email": "nobody@example.com", "password": "wrong-password"})[0]

    # THROTTLE_AUTH=3/hour for this server: a 4th attempt from one client is refused, whatever it forges.
    stamp = int(time.time() * 1000) % 200
    statuses = [sign_in(f"203.0.113.{i}, 198.51.100.{stamp}") for i in range(4)]
    assert statuses == [401, 401, 401, 429], statuses
    # Different real clients behind the proxy have budgets of their own.
    assert sign_in(f"198.51.100.{stamp + 1}") == 401
