"""Every Redis client the project opens has a connect timeout, and every request/response client a
read timeout (core.redisconf); the channel layer's pool, which also serves the PubSub reader, has
none (channels_redis#422). A client without them waited out a whole outage (issue 14, row 3)."""

import asyncio

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from realtime.streams import AsyncHistory, sync_client


def test_the_sync_client_of_history_rate_limits_and_the_test_gateway_has_timeouts(settings):
    kwargs = sync_client().connection_pool.connection_kwargs  # commerce.gateways.TestGateway uses it too
    assert kwargs["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert kwargs["socket_keepalive"] is True
    # one immediate retry, on connection errors only; redis-py's default backs off up to ~14 s
    # against a stopped Redis and retries timeouts too (a frozen one cost 4 timeouts)
    assert kwargs["retry"] == Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def test_the_cache_has_timeouts(settings):
    options = settings.CACHES["default"]["OPTIONS"]
    assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT


def test_the_gateways_history_and_presence_pool_has_timeouts(settings):
    async def kwargs():
        return AsyncHistory().client.connection_pool.connection_kwargs

    got = asyncio.run(kwargs())
    assert got["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert got["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT


def test_the_channel_layer_has_a_connect_timeout_and_no_read_timeout(settings):
    (host,) = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    assert host["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert host["socket_keepalive"] is True and host["health_check_interval"] > 0
    assert "socket_timeout" not in host


def test_the_celery_broker_has_timeouts_above_kombus_brpop(settings):
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert options["socket_timeout"] > 1  # kombu's BRPOP waits 1 s on the server
    assert settings.CELERY_WORKER_CONSUMER == "core.worker:ResilientConsumer"
