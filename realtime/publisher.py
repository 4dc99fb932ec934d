"""Channel-layer sends from synchronous code on one long-lived event loop per process.

The outbox relay, logout closes and ephemeral events are sent from synchronous code. asgiref's
``async_to_sync`` called from a thread without an event loop of its own (a Celery worker, the
outbox sweep, ``manage.py``, a benchmark) runs a *new* event loop for every call, so the channel
layer opens and closes a Redis connection each time: measured 1.7 ms per ``group_send`` here (of
a 4.9 ms outbox publish), 2-8 ms in ``bench/channel_layers.py``. :func:`run` sends on a loop that
a daemon thread keeps for the life of the process instead, so the layer's connection stays open
(and a Daphne request thread no longer borrows the server's event loop for its publish).

A forked child (Celery's prefork pool) gets a loop of its own on first use.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: seconds a send may take before :func:`run` gives up (the relay then leaves its rows pending
#: for the outbox sweep)
SEND_TIMEOUT_SECONDS = 30.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True)
            thread.start()
            _loop, _thread, _pid = loop, thread, os.getpid()
        return _loop


def run(make: Callable[[], Awaitable[T]], *, timeout: float = SEND_TIMEOUT_SECONDS) -> T:
    """Run the coroutine ``make()`` on the process's publisher loop and return its result.

    Blocks the calling (synchronous) thread until it finishes. Raises what the coroutine raises
    (e.g. ``redis.RedisError``), or ``TimeoutError`` after ``timeout`` seconds (the coroutine is
    cancelled). Must not be called from the publisher loop's own thread.
    """
    loop = _publisher_loop()
    if threading.current_thread() is _thread:
        raise RuntimeError("realtime.publisher.run called from the publisher loop itself")
    future = asyncio.run_coroutine_threadsafe(make(), loop)
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise
