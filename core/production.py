"""Start-up refusals: with ``DEBUG`` off the settings module refuses to load while a secret is
missing or still its development default (issue 13, "production refuses unsafe defaults").

:func:`unsafe_settings` is pure (it reads only its arguments), so ``core.settings`` can call it
before Django is set up and tests can call it with any environment. ``core.settings`` raises
``ImproperlyConfigured`` with every problem it returns, one per line; Daphne, Celery and every
``manage.py`` command then exit before serving anything.

What a leaked or guessable value would allow is in ``docs/operations.md`` (*Threat model*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

#: development defaults of core.settings; any of them in production is refused
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
DEV_WEBHOOK_SECRET = "whsec_dev_only_change_me"
#: values that earlier versions of the compose file or the docs used as placeholders
KNOWN_PLACEHOLDERS = frozenset({
    DEV_SECRET_KEY,
    DEV_WEBHOOK_SECRET,
    "insecure-compose-secret-key-change-me-0123456789abcdef",
    "build",
    "change-me",
    "changeme",
    "secret",
})
#: Django's own check (security.W009) wants at least 50 characters and 5 distinct ones
MIN_SECRET_LENGTH = 50
MIN_SECRET_DISTINCT = 5
MIN_WEBHOOK_SECRET_LENGTH = 24


def _weak_secret(value: str | None, *, min_length: int) -> str | None:
    """Why ``value`` is not a usable secret, or None when it is."""
    if not value:
        return "is not set"
    if value in KNOWN_PLACEHOLDERS or "insecure" in value.lower() or "change_me" in value.lower() \
            or "change-me" in value.lower() or value.startswith("django-insecure-"):
        return "is still a development/placeholder value"
    if len(value) < min_length or len(set(value)) < MIN_SECRET_DISTINCT:
        return f"is too short or too uniform (at least {min_length} random characters)"
    return None


def _bad_origins(origins: Iterable[str]) -> list[str]:
    bad = []
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            bad.append(origin)
    return bad


def unsafe_settings(
    *,
    environ: Mapping[str, str],
    secret_key: str,
    jwt_signing_key: str,
    webhook_secret: str,
    allowed_hosts: list[str],
    ws_allowed_origins: list[str],
    payment_gateway: str,
    allow_test_payments: bool,
) -> list[str]:
    """Every reason the settings are unsafe to serve with ``DEBUG`` off, as sentences naming the
    variable to set; ``[]`` when they are fine. ``environ`` is the process environment (after
    ``.env`` was read): ``ALLOWED_HOSTS`` and ``WS_ALLOWED_ORIGINS`` must be given explicitly,
    since their defaults name only this machine.

    Rules: ``SECRET_KEY`` set, not a development or placeholder value, >= 50 characters with >= 5
    distinct (Django's W009); ``JWT_SIGNING_KEY``, when set apart from ``SECRET_KEY``, the same;
    ``PAYMENT_WEBHOOK_SECRET`` set, not the development value, >= 24 characters;
    ``ALLOWED_HOSTS`` and ``WS_ALLOWED_ORIGINS`` set, without ``*``, origins as
    ``scheme://host[:port]``; ``PAYMENT_GATEWAY=test`` only with ``ALLOW_TEST_PAYMENTS=1``.
    """
    problems = []
    why = _weak_secret(secret_key, min_length=MIN_SECRET_LENGTH)
    if why:
        problems.append(f"SECRET_KEY {why}: set a long random value, e.g. "
                        "python -c 'import secrets; print(secrets.token_urlsafe(64))'")
    if jwt_signing_key != secret_key:
        why = _weak_secret(jwt_signing_key, min_length=MIN_SECRET_LENGTH)
        if why:
            problems.append(f"JWT_SIGNING_KEY {why}: unset it (tokens are then signed with SECRET_KEY) "
                            "or set a long random value")
    why = _weak_secret(webhook_secret, min_length=MIN_WEBHOOK_SECRET_LENGTH)
    if why:
        problems.append(f"PAYMENT_WEBHOOK_SECRET {why}: set the signing secret your payment provider "
                        "gave you for webhooks")
    if not environ.get("ALLOWED_HOSTS", "").strip():
        problems.append("ALLOWED_HOSTS is not set: list the host names this site answers to "
                        "(e.g. ALLOWED_HOSTS=market.example.com)")
    elif "*" in allowed_hosts:
        problems.append("ALLOWED_HOSTS contains '*': list the real host names")
    if not environ.get("WS_ALLOWED_ORIGINS", "").strip():
        problems.append("WS_ALLOWED_ORIGINS is not set: list the web origins allowed to open /ws/ "
                        "(e.g. WS_ALLOWED_ORIGINS=https://market.example.com)")
    elif "*" in ws_allowed_origins:
        problems.append("WS_ALLOWED_ORIGINS contains '*': list the real origins")
    else:
        bad = _bad_origins(ws_allowed_origins)
        if bad:
            problems.append(f"WS_ALLOWED_ORIGINS entries must be origins like https://host[:port]: {', '.join(bad)}")
    if payment_gateway == "test" and not allow_test_payments:
        problems.append("PAYMENT_GATEWAY is 'test' (the local gateway whose token tok_visa pays anything): "
                        "configure a real payment provider, or set ALLOW_TEST_PAYMENTS=1 for a staging "
                        "stack that must never take real orders")
    return problems
