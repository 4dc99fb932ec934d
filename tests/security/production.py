"""Starting the project as production does, in subprocesses: ``core.settings`` (not the test
settings), ``DEBUG`` off, and exactly the environment a test gives.

:data:`PRODUCTION_ENV` is the documented production configuration (docs/operations.md,
"Production settings") with throw-away secrets; :func:`run_django` runs a Python command line with
it. Variables a test does not set are removed from the child's environment, so an operator's
defaults can be tested as "unset". (A ``.env`` file in the project root would still be read by
``core.settings``; CI and fresh clones have none.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: production configuration with throw-away secrets (generated once, 64+ random characters)
PRODUCTION_ENV: dict[str, str] = {
    "DEBUG": "0",
    "SECRET_KEY": "Qm3k8Jd0vX7_wZ2pR5tY9uB1nC4eF6gH-aS8dL0kJ3hG5fD7sA9qW2eR4tY6uI8o",
    "PAYMENT_WEBHOOK_SECRET": "whsec_T7yU2iO9pA4sD6fG8hJ1kL3zX5cV",
    "ALLOWED_HOSTS": "market.example.com",
    "WS_ALLOWED_ORIGINS": "https://market.example.com",
    "TRUSTED_PROXIES": "10.0.0.0/8",
    # The only gateway this codebase has is the local test one: production-like stacks opt in.
    "PAYMENT_GATEWAY": "test",
    "ALLOW_TEST_PAYMENTS": "1",
}

#: every variable these tests decide about (removed from the inherited environment first)
CONTROLLED = frozenset({
    *PRODUCTION_ENV, "JWT_SIGNING_KEY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "CSRF_TRUSTED_ORIGINS",
    "DJANGO_SETTINGS_MODULE", "TEST_SERVER_PROCESS", "THROTTLE_AUTH", "CSP_REPORT_URI", "AXES_ENABLED",
})

#: placeholder services: settings load without connecting to anything
NO_SERVICES = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing", "REDIS_URL": "redis://127.0.0.1:1/0"}


def child_env(env: dict[str, str], services: dict[str, str] | None = None) -> dict[str, str]:
    """The inherited environment without :data:`CONTROLLED` variables, plus ``services`` (default
    :data:`NO_SERVICES`), ``core.settings`` and ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    base.update(services or NO_SERVICES)
    base["DJANGO_SETTINGS_MODULE"] = "core.settings"
    base.update(env)
    return base


def run_django(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python *argv`` in the project root with :func:`child_env` (output captured as text)."""
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=child_env(env), capture_output=True, text=True,
                          timeout=120)


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}
