"""The WebSocket gateway: one socket per client, many topics (protocol v1: README, "WebSocket
protocol (v1)"; the gateway's place in the map: docs/architecture.md).

Frames are JSON text. Client ops: ``auth``, ``subscribe``, ``unsubscribe``, ``command``, ``ping``;
each may carry a ``ref`` that the ``reply`` echoes. Server frames: ``reply`` and ``event``.

Per connection the gateway keeps the user, the subscribed topics with the last ``seq`` delivered
for each, and token buckets for rate limits. It knows no domain: a topic's authorisation,
snapshot and commands come from the app that registered it (``realtime.registry``); their ORM
work runs in worker threads (``db()``: Channels' ``DatabaseSyncToAsync``), never on the event loop.

Delivery guarantees for a subscribed topic: events arrive in ``seq`` order, each once. An event
arriving with a seq already delivered is dropped (re-publish, or replay overlap); one arriving
after a gap first has the gap filled from the Redis Stream history; if history no longer holds it,
the event is sent and the client sees the gap and resubscribes with ``since``. Topic events reach
the socket through the process's topic hub (``realtime.hub``: one channel-layer subscription per
topic per process, one pre-encoded frame for every local subscriber); the socket's own channel
only carries control messages for its user (``rt.close``, ``rt.unsubscribe``).

Close codes: 1009 frame over 64 KiB; 4503 (try again later) the first ``auth`` could not be
checked because PostgreSQL or Redis is unavailable (after an error reply ``unavailable`` with
``retry_after_ms``: keep the token and reconnect; the standard code for this, 1013, is one
autobahn/Daphne refuses to send, so the gateway's 4xxx-mirrors-HTTP scheme gives 4503); 4401 no/invalid auth within the deadline,
token expired, logout or ban; 4429 rate limit exceeded repeatedly. A refused ``Origin`` gets HTTP
403 at the handshake (a missing Origin is allowed: mobile apps send none).

Frames are parsed and checked by ``realtime.frames`` (lone surrogates, out-of-range numbers, deep
nesting and wrong field types are ``bad_frame``); an outage met while handling a frame is an
error reply ``unavailable`` with ``retry_after_ms``, never ``internal_error``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from core.exceptions import ApplicationError, ServiceUnavailable, outage_error, to_application_error
from core.tokens import verify_access_token
from realtime import frames, presence, registry
from realtime.events import SubscriptionRevoked
from realtime.frames import FrameError
from realtime.hub import RAW_WRITE, get_hub
from realtime.jsonutil import dumps
from realtime.outbox import user_group
from realtime.streams import AsyncHistory

logger = logging.getLogger(__name__)

CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 4503  # 1013 is refused by autobahn: applications may send 1000 and 3000-4999
CLOSE_UNAUTHORIZED = 4401
CLOSE_RATE_LIMITED = 4429

#: what a write to a socket whose peer already went away raises (Daphne/autobahn; OSError for
#: servers that raise a ConnectionError/ClientDisconnected): the send is dropped, not an error
PEER_GONE = (Disconnected, OSError)


class TokenBucket:
    """A token bucket: ``burst`` tokens, refilled at ``per_minute / 60`` tokens per second."""

    __slots__ = ("capacity", "rate", "tokens", "stamp")

    def __init__(self, burst: int, per_minute: int) -> None:
        self.capacity = float(burst)
        self.rate = per_minute / 60.0
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> float:
        """Take one token; return 0 when granted, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else float("inf")


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """Is a handshake ``Origin`` allowed? Missing → yes (native apps); ``*`` allows all; otherwise
    scheme, host and port must equal one entry of ``allowed``."""
    if origin is None or "*" in allowed:
        return True
    try:
        o = urlsplit(origin)
        key = (o.scheme, o.hostname, o.port or {"http": 80, "https": 443}.get(o.scheme))
    except ValueError:
        return False
    for entry in allowed:
        try:
            a = urlsplit(entry)
            if (a.scheme, a.hostname, a.port or {"http": 80, "https": 443}.get(a.scheme)) == key:
                return True
        except ValueError:
            continue
    return False


def db(fn):
    """Run ``fn`` (sync ORM work) off the event loop. With ``REALTIME["DB_THREAD_SENSITIVE"]``
    False (the default) calls go to a thread pool, so commands of different sockets run in
    parallel, each thread with its own database connection; one socket's frames stay sequential
    because the consumer awaits each. True puts all of a process's ORM work on one thread
    (Channels' default)."""
    return DatabaseSyncToAsync(fn, thread_sensitive=settings.REALTIME["DB_THREAD_SENSITIVE"])


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class GatewayConsumer(AsyncWebsocketConsumer):
    """One client connection to ``/ws/`` (see the module docstring for the protocol)."""

    history = AsyncHistory()

    async def __call__(self, scope, receive, send) -> None:
        """ASGI entry point: like Channels' ``AsyncConsumer.__call__``, with a cheaper main loop.

        Channels' ``await_many_dispatch`` makes a new task and an ``asyncio.wait`` per message;
        at 1,000 watchers of one topic that was a third of Daphne's CPU. Here two long-lived
        reader tasks (client frames, channel-layer messages) feed one queue and a single loop
        dispatches from it, so handlers still run one at a time in arrival order. An error in
        a reader is re-raised by the loop; ``StopConsumer`` ends it cleanly.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        try:
            self.channel_name = await self.channel_layer.new_channel()
        except Exception as exc:
            outage = outage_error(exc)
            if outage is None:
                raise
            await self._serve_unavailable(receive, send, outage)
            return
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        inbox: asyncio.Queue = asyncio.Queue()

        async def pump(source) -> None:
            try:
                while True:
                    inbox.put_nowait(await source())
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to the loop, which re-raises it
                inbox.put_nowait(exc)

        readers = [asyncio.ensure_future(pump(receive)), asyncio.ensure_future(pump(self.channel_receive))]
        try:
            while True:
                message = await inbox.get()
                if isinstance(message, BaseException):
                    raise message
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _serve_unavailable(self, receive, send, err: ServiceUnavailable) -> None:
        """The channel layer cannot be reached (Redis down), so this connection cannot work:
        accept it anyway (an allowed ``Origin``), answer its first frame with the error
        ``unavailable`` (``retry_after_ms``) and close with 4503 (try again later). Without this
        the handshake failed with HTTP 500 and a traceback; a client must be able to tell "come
        back later" from "your token is bad" (4401)."""
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        origin = dict(self.scope.get("headers", [])).get(b"origin")
        if not origin_allowed(origin.decode("latin1") if origin else None, settings.WS_ALLOWED_ORIGINS):
            await send({"type": "websocket.close"})
            return
        logger.warning("gateway: channel layer unavailable (%s); new sockets are closed with 4503", err.service)
        await send({"type": "websocket.accept"})
        try:
            first = await asyncio.wait_for(receive(), settings.REALTIME["AUTH_TIMEOUT_SECONDS"])
        except asyncio.TimeoutError:
            first = {"type": "websocket.receive", "text": None}
        if first.get("type") == "websocket.disconnect":
            return
        try:
            ref = frames.parse(first["text"]).get("ref") if first.get("text") else None
        except FrameError:
            ref = None
        error = {"code": "unavailable", "detail": err.detail, "retry_after_ms": err.retry_after * 1000}
        try:
            await send({"type": "websocket.send", "text": dumps({"op": "reply", "ref": ref, "status": "error", "error": error})})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": "try_again_later"})
        except PEER_GONE:
            pass

    async def dispatch(self, message: dict) -> None:
        """Run the handler for ``message["type"]`` without Channels' per-message DB clean-up.

        Channels ≥ 4.2 awaits ``aclose_old_connections()`` (a hop to the sync thread) before
        *every* handler, so each event fanned out to each socket paid a thread-pool round trip:
        in the gateway bench that was over half of Daphne's CPU at 1,000 watchers. All ORM work
        here goes through :class:`DatabaseSyncToAsync`, which closes stale connections itself
        before and after each call, so skipping the extra hop changes no database behaviour.

        Raises ``ValueError`` for a message type with no handler (as Channels does).
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection lifecycle ----------------------------------------------------------------
    async def connect(self) -> None:
        origin = None
        for name, value in self.scope.get("headers", []):
            if name == b"origin":
                origin = value.decode("latin1")
        if not origin_allowed(origin, settings.WS_ALLOWED_ORIGINS):
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        cfg = settings.REALTIME
        self.cfg = cfg
        self.user = None
        self.expires_at: datetime | None = None
        self.subs: dict[str, int] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.violations = 0
        self.closing = False
        self._auth_pending = False
        self._heartbeat: asyncio.Task | None = None
        self.hub = get_hub(self.history)
        raw = (self.scope.get("extensions") or {}).get(RAW_WRITE)
        self.raw_write = raw["write"] if raw else None
        await self.accept()
        self._auth_deadline = asyncio.ensure_future(self._close_later(cfg["AUTH_TIMEOUT_SECONDS"], "auth_timeout"))

    async def disconnect(self, code: int) -> None:
        self.closing = True
        self._cancel_timers()
        try:
            if getattr(self, "subs", None):
                tracked = [t for t in self.subs if self._tracks_presence(t)]
                if tracked:
                    await presence.remove(self.history.client, tracked, self.user.pk, self.channel_name)
                for topic in list(self.subs):
                    self.hub.leave(topic, self)
                self.subs.clear()
            if getattr(self, "user", None) is not None:
                await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        except Exception as exc:
            # Redis is down: presence entries expire and group memberships die with the channel.
            if outage_error(exc) is None:
                raise
            logger.warning("gateway: clean-up after disconnect skipped, Redis unavailable (%s)", exc.__class__.__name__)

    def _cancel_timers(self) -> None:
        """Cancel the auth deadline, expiry and presence tasks and drop our references to them.

        Dropping them matters for memory: a cancelled task keeps its ``CancelledError``, whose
        traceback holds the task's frame, whose ``self`` is this consumer; while the consumer
        also held the task, every closed connection left a reference cycle (consumer, its
        tasks, their frames, the user, the token buckets...) that only a full garbage
        collection frees, about 26 KB per connection (issue 14, row 10; found with
        ``gc.DEBUG_SAVEALL``, see ``bench/memory_churn.py``)."""
        for name in ("_auth_deadline", "_expiry", "_heartbeat"):
            task = getattr(self, name, None)
            if task is not None:
                task.cancel()
                setattr(self, name, None)

    async def _close_later(self, delay: float, reason: str) -> None:
        await asyncio.sleep(max(0.0, delay))
        if reason == "auth_timeout" and (self.user is not None or self._auth_pending):
            return  # a pending auth ends by itself: authenticated, 4401 or 4503 (op_auth)
        await self._close(CLOSE_UNAUTHORIZED, reason)

    @staticmethod
    def _tracks_presence(topic: str) -> bool:
        parsed = registry.parse_topic(topic)
        spec = registry.get_topic(parsed[0]) if parsed else None
        return bool(spec and spec.track_presence)

    async def _presence_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(presence.HEARTBEAT_SECONDS)
            tracked = [t for t in self.subs if self._tracks_presence(t)]
            if tracked:
                try:
                    await presence.add(self.history.client, tracked, self.user.pk, self.channel_name)
                except Exception:  # noqa: BLE001 - presence is best effort; retry next beat
                    logger.warning("gateway: presence heartbeat failed", exc_info=True)

    async def _mark_present(self, topic: str) -> None:
        await presence.add(self.history.client, [topic], self.user.pk, self.channel_name)
        if self._heartbeat is None:
            self._heartbeat = asyncio.ensure_future(self._presence_heartbeat())

    async def _close(self, code: int, reason: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        try:
            await self.close(code=code, reason=reason[:100] or None)
        except PEER_GONE:
            pass  # the peer closed first

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """Channels' ``send``, except that a frame for a socket whose peer has already closed is
        dropped (the ``websocket.disconnect`` that follows ends the consumer). Before, an event
        fanned out to a closing socket raised ``Attempt to send on a closed protocol`` and
        Daphne logged it as an application error (issue 14, row 8)."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except PEER_GONE:
            self.closing = True

    # --- frame handling -------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        ref = None
        try:
            if text_data is None:
                raise FrameError("Binary frames are not supported; send JSON text.")
            if len(text_data) > self.cfg["MAX_FRAME_BYTES"] // 4 and len(text_data.encode("utf-8", "surrogatepass")) > self.cfg["MAX_FRAME_BYTES"]:
                await self._close(CLOSE_TOO_BIG, "frame_too_big")
                return
            frame = frames.parse(text_data)
            ref = frame.get("ref")
            op = frame.get("op")
            handler = self.OPS.get(op) if isinstance(op, str) else None
            if handler is None:
                raise FrameError(f"Unknown op {str(op)[:32]!r}; expected one of {', '.join(sorted(self.OPS))}.")
            frames.check_fields(op, frame)
            if op not in ("auth", "ping") and self.user is None:
                raise ApplicationError("Send an auth frame first.", code="not_authenticated", status=401)
            await handler(self, frame, ref)
        except FrameError as exc:
            await self._reply_error(exc.ref if exc.ref is not None else ref, "bad_frame", str(exc))
        except Exception as exc:  # noqa: BLE001 - every client-caused error becomes an error reply
            err = to_application_error(exc)
            if err is None:
                logger.exception("gateway: unexpected error handling a frame")
                err = ApplicationError("Internal error; the request was not completed.", code="internal_error", status=500)
            if isinstance(err, ServiceUnavailable):
                await self._reply_unavailable(ref, err)
            else:
                await self._reply_error(ref, err.code, err.detail, err.fields, err.extra)

    async def _reply(self, ref: Any, data: Any = None) -> None:
        body: dict[str, Any] = {"op": "reply", "ref": ref, "status": "ok"}
        if data is not None:
            body["data"] = data
        await self.send(text_data=dumps(body))

    async def _reply_error(self, ref: Any, code: str, detail: str, fields: Any = None, extra: dict | None = None) -> None:
        if self.closing:
            return
        error: dict[str, Any] = {"code": code, "detail": detail}
        if fields:
            error["fields"] = fields
        if extra:
            error.update(extra)
        await self.send(text_data=dumps({"op": "reply", "ref": ref, "status": "error", "error": error}))

    async def _reply_unavailable(self, ref: Any, err: ServiceUnavailable) -> None:
        """Error reply ``unavailable`` with ``retry_after_ms``: a dependency is down; the request
        was not done and may be retried as it is (a token stays valid)."""
        await self._reply_error(ref, "unavailable", err.detail, extra={"retry_after_ms": err.retry_after * 1000})

    def _check_rate(self, bucket: str, limits: tuple[int, int]) -> None:
        b = self.buckets.get(bucket)
        if b is None:
            b = self.buckets[bucket] = TokenBucket(*limits)
        wait = b.take()
        if wait == 0.0:
            self.violations = 0
            return
        self.violations += 1
        if self.violations >= self.cfg["RATE_VIOLATIONS_BEFORE_CLOSE"]:
            asyncio.ensure_future(self._close(CLOSE_RATE_LIMITED, "rate_limited"))
        raise ApplicationError(
            f"Too many requests; retry in {wait:.1f} s.", code="rate_limited", status=429,
            extra={"retry_after_ms": int(wait * 1000) + 1},
        )

    def _topic(self, frame: dict) -> tuple[str, str, str, registry.Topic]:
        topic = frame.get("topic")
        parsed = registry.parse_topic(topic)
        if parsed is None:
            raise ApplicationError("topic must look like '<kind>:<key>'.", code="invalid_topic")
        kind, key = parsed
        spec = registry.get_topic(kind)
        if spec is None:
            raise ApplicationError(f"Unknown topic kind {kind!r}.", code="unknown_topic", status=404)
        return topic, kind, key, spec

    # --- ops -------------------------------------------------------------------------------
    async def op_ping(self, frame: dict, ref: Any) -> None:
        await self._reply(ref, {"server_time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")})

    async def op_auth(self, frame: dict, ref: Any) -> None:
        """Verify the token (``invalid_token`` → 4401 before the first success) and join the
        user's group. When the token cannot be checked now (PostgreSQL or Redis down, or no answer
        within ``AUTH_CHECK_TIMEOUT_SECONDS``) the reply is ``unavailable`` with
        ``retry_after_ms`` and an unauthenticated socket closes with 4503: the client keeps its
        token and reconnects later, instead of being told the token is invalid (issue 14, row 4)."""
        self._check_rate("auth", (5, 10))
        self._auth_pending = True
        try:
            verified = await self._verify(frame.get("token"))
            if isinstance(verified, ServiceUnavailable):
                await self._auth_unavailable(ref, verified)
                return
            if self.user is not None and self.user.pk != verified.user.pk:
                raise ApplicationError("This connection belongs to another user.", code="user_mismatch", status=403)
            first = self.user is None
            try:
                # Also on re-authentication: it renews the user group membership (the core layer
                # expires it); the hub renews the topic groups of the process.
                await self.channel_layer.group_add(user_group(verified.user.pk), self.channel_name)
            except Exception as exc:
                outage = outage_error(exc)
                if outage is None:
                    raise
                await self._auth_unavailable(ref, outage)
                return
        except ApplicationError as exc:
            if isinstance(exc, ServiceUnavailable) or exc.code == "user_mismatch":
                raise
            await self._reply_error(ref, exc.code, exc.detail)
            if self.user is None:
                await self._close(CLOSE_UNAUTHORIZED, "invalid_token")
            return
        finally:
            self._auth_pending = False
        self.user = verified.user
        self.expires_at = verified.expires_at
        if first and self._auth_deadline is not None:
            self._auth_deadline.cancel()
            self._auth_deadline = None  # no cycle through the cancelled task (_cancel_timers)
        if getattr(self, "_expiry", None) is not None:
            self._expiry.cancel()
        delay = (verified.expires_at - datetime.now(timezone.utc)).total_seconds()
        self._expiry = asyncio.ensure_future(self._close_later(delay, "token_expired"))
        await self._reply(ref, {"user_id": str(self.user.pk), "expires_at": _iso(verified.expires_at)})

    async def _verify(self, token: Any):
        """``verify_access_token`` off the event loop, bounded by ``AUTH_CHECK_TIMEOUT_SECONDS``;
        returns the verified token, or a :class:`ServiceUnavailable` when it cannot be checked now.
        Raises ``ApplicationError`` (``invalid_token``) for a token that is not valid."""
        try:
            return await asyncio.wait_for(db(verify_access_token)(token), self.cfg["AUTH_CHECK_TIMEOUT_SECONDS"])
        except ServiceUnavailable as exc:
            return exc
        except asyncio.TimeoutError:
            return ServiceUnavailable("The token could not be checked in time; retry later.", service="database")
        except ApplicationError:
            raise
        except Exception as exc:
            outage = outage_error(exc)
            if outage is None:
                raise
            return outage

    async def _auth_unavailable(self, ref: Any, err: ServiceUnavailable) -> None:
        await self._reply_unavailable(ref, err)
        if self.user is None:
            await self._close(CLOSE_TRY_AGAIN_LATER, "try_again_later")

    async def op_subscribe(self, frame: dict, ref: Any) -> None:
        topic, kind, key, spec = self._topic(frame)
        since = frame.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
            raise FrameError("since must be a non-negative integer (the last seq you received).")
        if topic not in self.subs and len(self.subs) >= self.cfg["MAX_TOPICS_PER_CONNECTION"]:
            raise ApplicationError("Too many topics on one connection.", code="too_many_topics", status=429)
        self._check_rate("subscribe", (50, 300))
        # Join the topic (hub) before reading history so no event falls between replay and live:
        # events that arrive meanwhile are held for this socket and sent after the reply.
        await self.hub.join(topic, self)
        try:
            await self._subscribe(ref, topic, key, spec, since)
        finally:
            if topic in self.subs:
                await self.hub.go_live(topic, self)  # also restores a refused re-subscribe
            else:
                self.hub.leave(topic, self)

    async def _subscribe(self, ref: Any, topic: str, key: str, spec: registry.Topic, since: int | None) -> None:
        replay: list[str] = []
        recovered = False
        if since is not None:
            replay, last, recovered = await self.history.since(topic, since)
        else:
            last = await self.history.last_seq(topic)
        want_snapshot = not recovered
        user = self.user

        def authorize_and_snapshot() -> tuple[bool, Any]:
            if not spec.authorize(user=user, key=key):
                return False, None
            return True, (spec.snapshot(user=user, key=key) if want_snapshot else None)

        allowed, snapshot = await db(authorize_and_snapshot)()
        if not allowed:
            raise ApplicationError(f"You may not subscribe to {topic}.", code="forbidden", status=403)
        if spec.track_presence:
            await self._mark_present(topic)
        if recovered:
            for text in replay:
                await self.send(text_data=text)
            seq = since + len(replay)
            self.subs[topic] = seq
            await self._reply(ref, {"seq": seq, "recovered": True})
        else:
            self.subs[topic] = last
            await self._reply(ref, {"seq": last, "recovered": False, "snapshot": snapshot})

    async def op_unsubscribe(self, frame: dict, ref: Any) -> None:
        topic = frame.get("topic")
        if isinstance(topic, str) and topic in self.subs:
            await self._drop(topic)
        elif registry.parse_topic(topic) is None:
            raise ApplicationError("topic must look like '<kind>:<key>'.", code="invalid_topic")
        await self._reply(ref, {"topic": topic, "subscribed": False})

    async def op_command(self, frame: dict, ref: Any) -> None:
        topic, kind, key, spec = self._topic(frame)
        name = frame.get("name")
        entry = spec.commands.get(name) if isinstance(name, str) else None
        bucket = entry[1] if entry else "commands"
        # Every command frame, valid or not, draws from its bucket: junk is throttled too.
        limits = spec.buckets.get(bucket) or (self.cfg["COMMAND_BURST"], self.cfg["COMMAND_PER_MINUTE"])
        self._check_rate(f"{kind}:{bucket}" if bucket != "commands" else "commands", limits)
        if entry is None:
            raise ApplicationError(
                f"Unknown command {str(name)[:32]!r} on {kind}; expected one of {', '.join(sorted(spec.commands)) or 'none'}.",
                code="unknown_command", status=404,
            )
        fn = entry[0]
        data = frame.get("data", {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise FrameError("data must be a JSON object.")
        user = self.user

        def run() -> Any:
            if not spec.authorize(user=user, key=key):
                raise ApplicationError(f"You may not send commands to {topic}.", code="forbidden", status=403)
            return fn(user=user, key=key, data=data)

        result = await db(run)()
        await self._reply(ref, result)

    OPS = {
        "auth": op_auth,
        "subscribe": op_subscribe,
        "unsubscribe": op_unsubscribe,
        "command": op_command,
        "ping": op_ping,
    }

    # --- topic events (called by the hub) ---------------------------------------------------
    async def write_text(self, text: str) -> None:
        """Send one text frame for the hub (an event, or a missed one from history). Nothing is
        sent once the socket is closing; a socket that closed under the hub is not an error
        (its ``disconnect`` follows)."""
        if self.closing:
            return
        try:
            await self.send(text_data=text)
        except Exception:  # noqa: BLE001 - e.g. Daphne's "Attempt to send on a closed protocol"
            logger.debug("gateway: event not sent, the socket is closed", exc_info=True)

    async def _drop(self, topic: str) -> None:
        del self.subs[topic]
        self.hub.leave(topic, self)
        if self._tracks_presence(topic):
            await presence.remove(self.history.client, [topic], self.user.pk, self.channel_name)

    # --- channel-layer messages (this socket's user group) -----------------------------------

    async def rt_close(self, message: dict) -> None:
        """Close this socket (logout, ban): ``{"code": 4401, "reason": "..."}``."""
        await self._close(int(message.get("code", CLOSE_UNAUTHORIZED)), str(message.get("reason", "")))

    async def rt_unsubscribe(self, message: dict) -> None:
        """An app revoked this user's access to a topic (``{"topic", "reason"}``): drop it and tell
        the client with an ``event`` of type ``subscription.revoked`` (no seq)."""
        topic = message["topic"]
        if topic in self.subs:
            await self._drop(topic)
            await self.send(text_data=dumps({"op": "event", "topic": topic, "type": SubscriptionRevoked.type,
                                             "data": {"reason": message.get("reason", "")}}))
