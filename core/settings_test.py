"""Test settings: the same real PostgreSQL and Redis, isolated by Redis DB 1 and key prefixes.

``make test`` is a development run: ``DEBUG`` is on while ``core.settings`` loads (unless the
environment says otherwise), so the development secrets and the ``test`` payment gateway are
accepted. pytest-django then runs each test with ``settings.DEBUG = False``, as production does;
the production start-up refusals are tested in subprocesses (``tests/security``). Set before the
import, the variable is inherited by the Daphne and Celery processes the tests start.
"""

import os

os.environ.setdefault("DEBUG", "1")

from core.settings import *  # noqa: E402,F401,F403
from core.settings import REDIS_URL  # noqa: E402

# Parallel test runs on one machine stay apart with TEST_DB_SUFFIX (database name) and
# TEST_REDIS_DB (Redis DB index, 1-15; DB 0 belongs to `make run`).
_TEST_REDIS = os.environ.get("TEST_REDIS_URL") or REDIS_URL.rsplit("/", 1)[0] + "/" + os.environ.get("TEST_REDIS_DB", "1")
DATABASES["default"]["TEST"] = {"NAME": "test_marketplace" + os.environ.get("TEST_DB_SUFFIX", "")}  # noqa: F405
REDIS_URL = _TEST_REDIS
CACHES["default"]["LOCATION"] = _TEST_REDIS  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "test"  # noqa: F405
# CHANNEL_REDIS_URLS shards the layer over several Redis servers (the scale-out test sets it).
_TEST_CHANNEL_URLS = os.environ["CHANNEL_REDIS_URLS"].split(",") if os.environ.get("CHANNEL_REDIS_URLS") else [_TEST_REDIS]
_channel_host_options = {k: v for k, v in CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0].items() if k != "address"}  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [{**_channel_host_options, "address": url} for url in _TEST_CHANNEL_URLS]  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "test-asgi"  # noqa: F405
CELERY_BROKER_URL = _TEST_REDIS
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
REALTIME["REDIS_PREFIX"] = "test-rt"  # noqa: F405
WS_ECHO_ENDPOINT = True  # /ws/echo/ for the Autobahn conformance run (tests/realtime/test_conformance_live.py)
# Every event published by any process of the suite (pytest, Daphne, Celery) is validated
# against its schema; tests/conftest.py fails the run on an invalid one.
REALTIME["VALIDATE_EVENTS"] = True  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Uploads of the test session (logos, product images) stay out of the development MEDIA_ROOT
MEDIA_ROOT = os.environ.get("TEST_MEDIA_ROOT") or str(BASE_DIR / ".data" / "test-media")  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"auth": "1000/min", "password_reset": "1000/min"}  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# The pytest process connects without the pool (one connection per thread, closed by the tests):
# tests start up to 200 threads that each hold a connection at once, more than a pool holds, and
# pytest-django swaps the database name under it. Processes the tests start (Daphne in
# tests/live.py, the Celery worker) set TEST_SERVER_PROCESS=1 and keep the production pool.
if os.environ.get("TEST_SERVER_PROCESS") != "1":
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
