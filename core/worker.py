"""The Celery worker's consumer, made to survive a Redis restart while it holds unacked tasks.

The failure (issue 14, row 1), reproduced with celery 5.7.0 / kombu 5.7.0 / redis-py 7.4 and the
Redis broker: an approved auction has its ``close_auction`` ETA task held by the worker
(prefetched and unacked, ``acks_late``); Redis is killed; the worker logs *Connection to broker
lost* and then dies with ``Unrecoverable error: AttributeError("'NoneType' object has no attribute
'hostname'")``. ``make run`` then stopped the whole stack.

Why: on a connection error Celery 5.7.0's ``Consumer.on_connection_error_after_connected`` calls
``connection.collect()`` and then, new in 5.7 (celery#10242 / celery#10570, the fix for workers
hanging on a half-open broker socket, celery#9705), ``connection.close()``. kombu's ``collect()``
closes the default channel, and when that raises half-way (the channel's pending ``BRPOP`` read
fails because Redis is gone) it still detaches the transport (``transport.client = None``) but
keeps the half-closed channel as the connection's default channel. ``close()`` then closes that
channel again; with unacked messages it tries to restore them, needs a new Redis pool, and builds
its parameters from ``transport.client``, which is ``None``: the ``AttributeError`` above, the
same failure kombu#582 reported for closing a channel after its connection released the
transport. It escapes ``ignore_errors`` (which only ignores connection errors) and kills the
worker. kombu 5.7.0 and celery 5.7.0 are the latest releases, so there is nothing to upgrade to;
downgrading to celery 5.6 would bring back the half-open-socket hang.

The fix, configured with ``CELERY_WORKER_CONSUMER``: after ``collect()`` the connection forgets its
default channel, so ``close()`` only releases what is left, as Celery 5.6 (``collect()`` only)
did. Nothing is lost: an unacked message stays in Redis' ``unacked`` hash (written when it was
delivered, persisted by Redis' AOF) and kombu restores it to its queue once its visibility
timeout has passed; the beat sweeps (``auctions_tick`` every second, the reservation sweep every
30 s) do what is due meanwhile. ``tests/chaos/test_redis_chaos.py`` kills Redis with a
pending ETA close task and checks that the worker lives on and runs new tasks.
"""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer

logger = logging.getLogger(__name__)


def _forget_default_channel_after_collect(connection) -> None:
    """Make ``connection.collect()`` drop the connection's default channel afterwards (see the
    module docstring). Touches kombu's ``Connection._default_channel``: kombu has no public way
    to forget a channel without closing it again."""
    collect = connection.collect

    def collect_then_forget(*args, **kwargs):
        try:
            return collect(*args, **kwargs)
        finally:
            connection._default_channel = None

    connection.collect = collect_then_forget


class ResilientConsumer(Consumer):
    """Celery's worker ``Consumer`` whose connection-loss clean-up cannot kill the worker
    (``CELERY_WORKER_CONSUMER = "core.worker:ResilientConsumer"``; module docstring: why)."""

    def on_connection_error_after_connected(self, exc):
        if self.connection is not None:
            _forget_default_channel_after_collect(self.connection)
        logger.warning("worker: lost the broker (%s); reconnecting, unacked tasks stay in Redis", exc.__class__.__name__)
        return super().on_connection_error_after_connected(exc)
