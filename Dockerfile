# Production-like image of the marketplace: one image for the web (Daphne), worker and beat roles.
# Build: docker build -t marketplace .     Run the whole stack: docker compose up --build
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PORT=8000

WORKDIR /app

# An unprivileged user owns nothing but the directories the processes write to.
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

# Runtime packages only (requirements.txt); the embedded PostgreSQL/Redis wheels and test tools
# are in requirements-dev.txt for `make run` / `make test` (compose supplies DATABASE_URL/REDIS_URL).
# WeasyPrint (invoice PDFs) loads Pango, HarfBuzz and fontconfig and needs a font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        libfontconfig1 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files (admin, DRF) collected at build time. Settings start the embedded PostgreSQL/Redis
# when DATABASE_URL/REDIS_URL are unset, so give them placeholders: collectstatic connects to neither.
# DEBUG=1 for this build step only (no server runs in it, and no secret is baked into the image):
# with DEBUG off the settings refuse to load without real secrets (core/production.py).
RUN DATABASE_URL=postgres://build@127.0.0.1:1/build REDIS_URL=redis://127.0.0.1:1/0 DEBUG=1 \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/.data /app/media \
    && chown app:app /app/.data /app/media

USER app

EXPOSE 8000

# realtime.daphne is the daphne CLI, plus closing over-size WebSocket frames with code 1009, sending
# zero-length messages and writing the topic hub's pre-encoded frames straight to each socket.
# No --proxy-headers: Daphne would believe X-Forwarded-For from any client. The app trusts
# forwarding headers only from TRUSTED_PROXIES (core/client_ip.py).
# The image runs with DEBUG off: it refuses to start without SECRET_KEY, PAYMENT_WEBHOOK_SECRET,
# ALLOWED_HOSTS and WS_ALLOWED_ORIGINS (docs/operations.md, "Production settings").
ENV DEBUG=0
CMD ["python", "-m", "realtime.daphne", "-b", "0.0.0.0", "-p", "8000", \
     "--ping-interval", "25", "--ping-timeout", "30", "--websocket-max-message-size", "65536", \
     "core.asgi:application"]
