"""The process-local topic hub: one channel-layer subscription per topic per gateway process.

Before the hub every socket joined its topic's channel-layer group, so one event for a topic
watched by N sockets of a process was N channel-layer deliveries, N queue hand-offs between
tasks and N passes through the ASGI server's message framing. Now the process joins each
topic's group once, with one channel of its own (``TopicHub.channel``); each event arrives once
and the hub writes it to every local socket subscribed to the topic, in one loop, without a task
switch per socket. When the server offers it (``RAW_WRITE`` in the connection scope, provided
by ``python -m realtime.daphne``), the frame is encoded once (:func:`encode_text_frame`) and the
same bytes go to every socket.

The per-socket guarantees of the gateway are unchanged (see ``realtime/consumers.py``): each
socket keeps the last ``seq`` it received per topic (``consumer.subs``); an event whose seq it
already has is dropped; an event after a gap is preceded by the missing events from the topic's
history (read from Redis once per gap, not once per socket); a socket that is still subscribing
(``join`` → ``go_live``) gets the events that arrive meanwhile after its subscribe reply, never
before the replayed ones.

Ordering: events of one topic are handled in arrival order; while a gap of a topic is being
filled from history, later events of that topic wait in a backlog (other topics go on).
Group membership: joined on a topic's first local subscriber, left after its last one goes
(serialised per topic, so a leave and a join never interleave), and renewed every
``RENEW_SECONDS`` for the core layer, whose memberships expire.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from typing import Any

from channels.layers import get_channel_layer

from realtime.streams import AsyncHistory, group_name

logger = logging.getLogger(__name__)

#: ASGI scope extension a server may offer: ``{"write": fn}`` where ``fn(frame: bytes) -> bool``
#: writes one complete, unmasked WebSocket frame to the connection now (no await) and returns
#: False when the connection is no longer open. ``python -m realtime.daphne`` provides it.
RAW_WRITE = "realtime.raw_write"

RENEW_SECONDS = 3600.0
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


def encode_text_frame(text: str) -> bytes:
    """One unfragmented, unmasked WebSocket text frame (RFC 6455 §5.2) carrying ``text`` as
    UTF-8: FIN + opcode 1, the 7-, 16- or 64-bit payload length, the payload. Servers never mask,
    so the same bytes are valid on every connection."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class _Topic:
    """A topic with local subscribers: ``live`` sockets get events as they come; ``pending``
    ones (mid-subscribe) have them buffered; ``backlog`` holds events waiting behind a gap fill."""

    __slots__ = ("name", "live", "pending", "joined", "lock", "backlog", "repairing")

    def __init__(self, name: str) -> None:
        self.name = name
        self.live: dict[Any, None] = {}  # insertion-ordered set of consumers
        self.pending: dict[Any, list[dict]] = {}
        self.joined = False
        self.lock = asyncio.Lock()
        self.backlog: deque[dict] = deque()
        self.repairing = False

    def empty(self) -> bool:
        return not self.live and not self.pending


class TopicHub:
    """Fan-out of topic events to the sockets of this process (one instance per event loop).

    Consumers call :meth:`join` before reading a topic's history, :meth:`go_live` after their
    subscribe reply, and :meth:`leave` on unsubscribe/disconnect. A consumer must offer
    ``subs`` (topic → last seq sent), ``closing``, ``user`` and ``write_text(text, frame=None)``
    (async; sends one text frame, the pre-encoded ``frame`` when given) and ``raw_write``
    (the server's ``RAW_WRITE`` function or None).
    """

    def __init__(self, layer=None, history: AsyncHistory | None = None) -> None:
        self.layer = layer or get_channel_layer()
        self.history = history or AsyncHistory()
        self.topics: dict[str, _Topic] = {}
        self.channel: str | None = None
        self._started: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()
        self.stats = {"events": 0, "deliveries": 0, "gap_fills": 0, "dropped_duplicates": 0}

    # --- lifecycle ---------------------------------------------------------------------------
    async def _start(self) -> None:
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                self.channel = await self.layer.new_channel()
            except BaseException as exc:
                fut, self._started = self._started, None
                fut.set_exception(exc)
                fut.exception()  # retrieved: the caller gets it raised below
                raise
            self._spawn(self._reader())
            self._spawn(self._renewer())
            self._started.set_result(None)
        await self._started

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _reader(self) -> None:
        failures = 0
        while True:
            try:
                message = await self.layer.receive(self.channel)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the layer reconnects; keep reading
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                logger.warning("hub: channel-layer receive failed; retrying in %.1f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                continue
            try:
                await self.dispatch(message)
            except Exception:  # noqa: BLE001 - one bad message must not stop the process's fan-out
                logger.exception("hub: error handling %s", message.get("type"))

    async def _renewer(self) -> None:
        """Re-add every group this process listens to (the core layer expires memberships)."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            for topic in [t for t, s in self.topics.items() if s.joined]:
                try:
                    await self.layer.group_add(group_name(topic), self.channel)
                except Exception:  # noqa: BLE001 - retried at the next renewal
                    logger.warning("hub: renewing %s failed", topic, exc_info=True)

    # --- membership --------------------------------------------------------------------------
    async def join(self, topic: str, consumer) -> None:
        """Register ``consumer`` as subscribing to ``topic`` (events buffered for it until
        :meth:`go_live`) and make sure this process's channel is in the topic's group. Returns
        once the group membership is in place, so no event published afterwards is missed.
        Raises the channel layer's error (the registration is then undone)."""
        await self._start()
        state = self.topics.get(topic)
        if state is None:
            state = self.topics[topic] = _Topic(topic)
        # A socket that resubscribes is held back too, so its replay is never overtaken.
        was_live = state.live.pop(consumer, False) is None
        state.pending.setdefault(consumer, [])
        try:
            async with state.lock:
                if not state.joined:
                    await self.layer.group_add(group_name(topic), self.channel)
                    state.joined = True
        except BaseException:
            state.pending.pop(consumer, None)
            if was_live:
                state.live[consumer] = None
            self._release_later(topic, state)
            raise

    async def go_live(self, topic: str, consumer) -> None:
        """End ``consumer``'s subscribe: deliver what arrived meanwhile (with the usual dedup
        and gap fill, against ``consumer.subs[topic]``), then hand it live events."""
        state = self.topics.get(topic)
        if state is None or consumer in state.live:
            return
        while True:
            buffered = state.pending.get(consumer)
            if buffered is None:  # left meanwhile
                return
            if not buffered:
                break
            message = buffered.pop(0)
            await self._deliver_one(consumer, topic, message["seq"], message["frame"], None)
        del state.pending[consumer]
        state.live[consumer] = None

    def leave(self, topic: str, consumer) -> None:
        """Forget ``consumer`` for ``topic``; the process leaves the group after its last local
        subscriber (in the background)."""
        state = self.topics.get(topic)
        if state is None:
            return
        state.live.pop(consumer, None)
        state.pending.pop(consumer, None)
        if state.empty():
            self._release_later(topic, state)

    def _release_later(self, topic: str, state: _Topic) -> None:
        if state.empty():
            self._spawn(self._release(topic, state))

    async def _release(self, topic: str, state: _Topic) -> None:
        async with state.lock:
            if not state.empty():
                return
            if state.joined:
                try:
                    await self.layer.group_discard(group_name(topic), self.channel)
                except Exception:  # noqa: BLE001 - a stale membership only costs ignored messages
                    logger.warning("hub: leaving %s failed", topic, exc_info=True)
                state.joined = False
            if state.empty() and self.topics.get(topic) is state:
                del self.topics[topic]

    def local_subscribers(self, topic: str) -> int:
        """Sockets of this process subscribed (or subscribing) to ``topic``."""
        state = self.topics.get(topic)
        return len(state.live) + len(state.pending) if state else 0

    # --- events ------------------------------------------------------------------------------
    async def dispatch(self, message: dict) -> None:
        """Handle one channel-layer message sent to a topic group: ``rt.event``
        (``{"topic","seq","frame"}``) or ``rt.ephemeral`` (``{"topic","frame","exclude_user_id"}``)."""
        kind = message.get("type")
        state = self.topics.get(message.get("topic"))
        if state is None:
            return
        if kind == "rt.event":
            for buffered in state.pending.values():
                buffered.append(message)
            if state.repairing:
                state.backlog.append(message)
                return
            behind = await self._fan_out(state, message)
            if behind:
                state.repairing = True
                self._spawn(self._repair(state, message, behind))
        elif kind == "rt.ephemeral":
            await self._fan_out_ephemeral(state, message)

    async def _fan_out(self, state: _Topic, message: dict) -> list:
        """Send event ``message`` to every live socket that is exactly one seq behind; return
        the sockets that are further behind (they need a gap fill first)."""
        topic, seq, text = state.name, message["seq"], message["frame"]
        self.stats["events"] += 1
        frame = encode_text_frame(text)
        behind = []
        sent = 0
        for consumer in list(state.live):
            subs = consumer.subs
            last = subs.get(topic)
            if last is None or consumer.closing:
                continue
            if seq <= last:
                self.stats["dropped_duplicates"] += 1
                continue
            if seq > last + 1:
                behind.append(consumer)
                continue
            subs[topic] = seq
            raw = consumer.raw_write
            if raw is not None:
                if raw(frame):
                    sent += 1
            else:
                await consumer.write_text(text)
                sent += 1
        self.stats["deliveries"] += sent
        return behind

    async def _repair(self, state: _Topic, message: dict, behind: list) -> None:
        """Fill the gap of the ``behind`` sockets from history (one read per gap), send them the
        event, then the events that queued up meanwhile, in order (filling again if needed)."""
        topic = state.name
        try:
            while True:
                seq = message["seq"]
                self.stats["gap_fills"] += 1
                start = min(c.subs.get(topic, seq - 1) for c in behind)
                try:
                    frames, _, complete = await self.history.since(topic, start, upto=seq - 1)
                except Exception:  # noqa: BLE001 - no history: the clients see the gap and resubscribe
                    logger.warning("hub: reading history of %s failed", topic, exc_info=True)
                    frames, complete = [], False
                for consumer in behind:
                    await self._deliver_one(consumer, topic, seq, message["frame"], (start, frames) if complete else None)
                behind = []
                while not behind:
                    if not state.backlog:
                        return
                    message = state.backlog.popleft()
                    behind = await self._fan_out(state, message)
        except Exception:  # noqa: BLE001
            logger.exception("hub: gap fill of %s failed", topic)
        finally:
            state.repairing = False
            # anything queued after a failure goes out as it is (clients see any gap)
            while state.backlog and not state.repairing:
                queued = state.backlog.popleft()
                behind = await self._fan_out(state, queued)
                if behind:
                    state.repairing = True
                    self._spawn(self._repair(state, queued, behind))

    async def _deliver_one(self, consumer, topic: str, seq: int, text: str, history: tuple[int, list[str]] | None) -> None:
        """Send event ``seq`` (and the events it skipped) to one socket, honouring its last seq.

        ``history``: ``(after, frames)`` already read for seqs ``after+1 ..``; None reads what
        this socket misses from Redis when it is behind."""
        last = consumer.subs.get(topic)
        if last is None or consumer.closing or seq <= last:
            return
        if seq > last + 1:
            if history is None:
                try:
                    frames, _, complete = await self.history.since(topic, last, upto=seq - 1)
                except Exception:  # noqa: BLE001
                    logger.warning("hub: reading history of %s failed", topic, exc_info=True)
                    frames, complete = [], False
                after = last
            else:
                (after, frames), complete = history, True
            if complete:
                for i, missed in enumerate(frames):
                    if after + 1 + i > last:
                        await consumer.write_text(missed)
                        if consumer.closing:
                            return
        consumer.subs[topic] = seq
        await consumer.write_text(text)
        self.stats["deliveries"] += 1

    async def _fan_out_ephemeral(self, state: _Topic, message: dict) -> None:
        text, exclude = message["frame"], message.get("exclude_user_id")
        frame = encode_text_frame(text)
        for consumer in list(state.live):
            if consumer.closing or (exclude is not None and str(consumer.user.pk) == exclude):
                continue
            raw = consumer.raw_write
            if raw is not None:
                raw(frame)
            else:
                await consumer.write_text(text)


_hubs: dict[int, TopicHub] = {}


def get_hub(history: AsyncHistory | None = None) -> TopicHub:
    """The hub of the running event loop (a server process has one loop, so one hub), made on
    first use with ``history`` (the gateway's, so both share one Redis pool)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(id(loop))
    if hub is None:
        if len(_hubs) > 16:  # loops of finished tests
            _hubs.clear()
        hub = _hubs[id(loop)] = TopicHub(history=history)
    return hub
