"""Run Daphne for the gateway: ``python -m realtime.daphne [daphne options] core.asgi:application``.

Same command line as ``daphne``, with these changes to Daphne/autobahn behaviour:

- a connection that breaks a limit (``--websocket-max-message-size``) is closed with a close
  frame carrying the code (1009 for a message too big) instead of autobahn's default of dropping
  TCP (``failByDrop=True``), so that clients learn why; the limit applies only to what clients
  send, not to the server's own replies and events (:func:`_server_send_unbounded`);
- zero-length messages are sent (:func:`send_empty_messages`; Daphne dropped them: Autobahn
  cases 1.1.1, 1.2.1, 6.1.1, 6.1.2);
- WebSocket connections offer the topic hub a raw frame writer (:func:`raw_frame_writer`,
  ``realtime.hub.RAW_WRITE``), so one pre-encoded event frame goes to every subscriber with
  one ``send`` system call each (``WS_RAW_FRAMES=0`` turns it off);
- a closed connection leaves no reference cycle behind (:func:`_on_close_releasing`,
  :func:`_process_releasing_upgrade`), so memory stays flat under connection churn whatever the
  garbage collector's thresholds (issue 14, row 10; ``bench/memory_churn.py``);
- the garbage collector is tuned for many long-lived sockets (:func:`tune_gc`,
  ``WS_GC_THRESHOLD``) and autobahn no longer formats debug-log text for every frame
  (:func:`defer_autobahn_log_highlighting`).
"""

import gc
import os

import autobahn.twisted.websocket as tw
import autobahn.websocket.protocol as proto
from autobahn import util
from autobahn.websocket.protocol import WebSocketProtocol as _AutobahnProtocol
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import tcp

from realtime.hub import RAW_WRITE

_set_options = WebSocketFactory.setProtocolOptions


def _set_protocol_options(self, *args, **kwargs):
    kwargs.setdefault("failByDrop", False)
    return _set_options(self, *args, **kwargs)


WebSocketFactory.setProtocolOptions = _set_protocol_options

_handle_reply = WebSocketProtocol.handle_reply


def _handle_reply_with_empty_messages(self, message):
    """Daphne's ``WebSocketProtocol.handle_reply`` tests ``message.get("text")`` for truth, so
    an empty ``text`` (or ``bytes``) was silently not sent. ASGI says exactly one of the two is
    not None; an empty one is a valid zero-length message (RFC 6455 §5.6)."""
    if message.get("type") != "websocket.send":
        return _handle_reply(self, message)
    data, text = message.get("bytes"), message.get("text")
    if data is not None and text is not None:
        raise ValueError(f"Got invalid WebSocket reply message on {message!r} - contains both bytes and text keys")
    if self.state == self.STATE_CONNECTING:
        raise ValueError("Socket has not been accepted, so cannot send over it")
    if data is not None:
        self.serverSend(data, True)
    elif text is not None:
        self.serverSend(text, False)


def send_empty_messages() -> None:
    """Install :func:`_handle_reply_with_empty_messages` (idempotent)."""
    WebSocketProtocol.handle_reply = _handle_reply_with_empty_messages


send_empty_messages()


def raw_frame_writer(protocol):
    """A ``realtime.hub.RAW_WRITE`` function for one Daphne WebSocket connection:
    ``write(frame: bytes) -> bool`` puts a complete, pre-encoded frame on the wire now.

    Why: Twisted buffers every ``transport.write`` and sends it on the next reactor turn, which
    costs an ``epoll_ctl`` to watch the socket, a writable callback, the ``send`` and another
    ``epoll_ctl`` per write; autobahn frames each message in Python before that. For one event
    to thousands of sockets that was most of the fan-out time (bench/results/gateway.md). Here,
    when nothing is queued on the connection (autobahn's send queue, Twisted's buffers), the
    frame goes straight to the socket with one non-blocking ``send``; what the kernel does not
    take, and every write on a busy, TLS or non-TCP transport, goes through ``transport.write``
    so bytes stay in order. Returns False (nothing written) once the WebSocket is not open.
    """
    open_state = _AutobahnProtocol.STATE_OPEN

    def write(frame: bytes) -> bool:
        if protocol.state != open_state:
            return False
        transport = protocol.transport
        if transport is None or not transport.connected or transport.disconnecting or getattr(transport, "_writeDisconnected", False):
            return False
        if (
            not isinstance(transport, tcp.Connection)
            or protocol.send_queue
            or transport._tempDataLen
            or len(transport.dataBuffer) > transport.offset
            or getattr(transport, "TLS", False)
        ):
            transport.write(frame)
            return True
        try:
            sent = transport.socket.send(frame)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            transport.write(frame)  # Twisted meets the same error on its own write and closes
            return True
        if sent < len(frame):
            transport.write(frame[sent:])
        return True

    return write


_create_application = Server.create_application


def _create_application_with_raw_write(self, protocol, scope):
    if scope.get("type") == "websocket" and isinstance(protocol, WebSocketProtocol):
        scope.setdefault("extensions", {})[RAW_WRITE] = {"write": raw_frame_writer(protocol)}
    return _create_application(self, protocol, scope)


def offer_raw_writes(enabled: bool | None = None) -> bool:
    """Give WebSocket scopes the ``realtime.hub.RAW_WRITE`` extension (``WS_RAW_FRAMES``,
    default on). Returns whether it is on."""
    if enabled is None:
        enabled = os.environ.get("WS_RAW_FRAMES", "1").strip().lower() not in ("0", "off", "false", "no")
    Server.create_application = _create_application_with_raw_write if enabled else _create_application
    return enabled


offer_raw_writes()


def _server_send_unbounded(self, content, binary=False):
    """Daphne's ``serverSend`` with autobahn's message-size limit lifted for this one send.

    autobahn applies ``maxMessagePayloadSize`` (set from ``--websocket-max-message-size``) to
    what the server sends as well as to what it receives, so a reply or event over 64 KiB (a chat
    snapshot of 50 long messages, a big order list) raised ``PayloadExceededError`` inside the
    application and the socket closed with 1011. The option exists to bound what *clients* send;
    the server's own frames are bounded by the code that builds them."""
    limit = self.maxMessagePayloadSize
    self.maxMessagePayloadSize = 0
    try:
        return _server_send(self, content, binary)
    finally:
        self.maxMessagePayloadSize = limit


_server_send = WebSocketProtocol.serverSend
WebSocketProtocol.serverSend = _server_send_unbounded


def _on_close_releasing(self, *args, **kwargs):
    """Daphne's ``onClose``, then drop autobahn's ``is_open`` / ``is_closed`` futures.

    autobahn resolves ``is_closed`` with the protocol itself (``txaio.resolve(self.is_closed,
    self)``), so every closed WebSocket was a reference cycle (protocol → future → protocol)
    holding the protocol, its buffers, autobahn's per-connection state and Daphne's application
    queue until a full garbage collection: ~60 % of the objects a closed connection left behind
    (issue 14, row 10; measured with ``gc.DEBUG_SAVEALL``). Both futures are resolved by then and
    autobahn never touches them after a connection is lost."""
    try:
        return _on_close(self, *args, **kwargs)
    finally:
        self.is_open = self.is_closed = None


_on_close = WebSocketProtocol.onClose
WebSocketProtocol.onClose = _on_close_releasing


def _process_releasing_upgrade(self):
    """Daphne's ``WebRequest.process``; after it hands the connection to a WebSocket protocol,
    take the request out of its ``HTTPChannel``.

    Twisted's channel keeps each request in ``channel.requests`` until the response finishes,
    and the request points back at the channel. An upgraded request never finishes (the
    WebSocket protocol owns the TCP connection from then on), so channel and request stayed a
    reference cycle, with the TCP transport and the request's headers, until a full garbage
    collection: the rest of what a closed connection left behind (issue 14, row 10). The channel
    sees no more traffic after the upgrade, so nothing reads the list again."""
    try:
        return _process(self)
    finally:
        channel = self.channel
        if self.transport is None and channel is not None and self in getattr(channel, "requests", ()):
            channel.requests.remove(self)


_process = WebRequest.process
WebRequest.process = _process_releasing_upgrade


class _LazyHighlight:
    """``fn(*args, **kwargs)`` computed only when a log line is actually formatted."""

    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn, args, kwargs) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __str__(self) -> str:
        return self.fn(*self.args, **self.kwargs)

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _lazy(fn):
    def deferred(*args, **kwargs):
        return _LazyHighlight(fn, args, kwargs)

    return deferred


def defer_autobahn_log_highlighting() -> None:
    """Make autobahn's protocol modules build the coloured text of their debug log lines
    (``hltype``/``hlval``, click's ``style``) only when a line is written, not for every frame.

    Why: ``WebSocketProtocol.sendData`` (and the Twisted adapter's ``dataReceived``) pass
    ``func=hltype(...)``, ``peer=hlval(...)``, ``data_len=hlval(...)`` to ``log.debug`` on every
    frame, so the arguments are computed even though debug logging is off: 8.3 µs per frame on
    this machine, about a sixth of a core at 20,000 deliveries/s. Output is unchanged when debug
    logging is on (the lazy value formats to the same text).
    """
    for module in (proto, tw):
        module.hltype = _lazy(util.hltype)
        module.hlval = _lazy(util.hlval)


defer_autobahn_log_highlighting()


DEFAULT_GC_THRESHOLD = "100000,50,100"


def tune_gc(spec: str | None = None) -> tuple[int, int, int] | None:
    """Apply ``WS_GC_THRESHOLD`` (``"gen0,gen1,gen2"``, default ``"100000,50,100"``) to the
    cyclic garbage collector and ``gc.freeze()`` what start-up allocated; ``"off"`` keeps
    Python's defaults (700,10,10). Returns the thresholds set, or None for ``"off"``.
    Raises ``ValueError`` for a malformed value.

    Why: with thousands of sockets the heap holds millions of tracked objects and Python's
    default thresholds run full collections over all of them many times a second while events
    are fanned out. Measured with ``bench/gateway.py --fanout-sizes 5000``: one event to 5,000
    sockets at 1 msg/s, p50 1,763 ms with the defaults vs 865 ms with these thresholds; burst
    14,236 vs 17,834 deliveries/s. The technique (larger gen0 threshold, ``gc.freeze`` after
    start-up) is the one Instagram described for their Django processes.

    The price is that full collections become rare, so anything that only the cyclic collector
    can free stays for a long time. Closed connections used to be such garbage (about 7 KB each,
    linear growth); they no longer make cycles (module docstring), and a ``DEBUG_SAVEALL`` probe
    after 3,000 closed connections finds nothing to collect.
    """
    spec = os.environ.get("WS_GC_THRESHOLD", DEFAULT_GC_THRESHOLD) if spec is None else spec
    if spec.strip().lower() in ("", "off"):
        return None
    parts = tuple(int(x) for x in spec.split(","))
    if len(parts) != 3 or min(parts) < 1:
        raise ValueError(f"WS_GC_THRESHOLD must be three positive integers, got {spec!r}")
    gc.collect()
    gc.freeze()
    gc.set_threshold(*parts)
    return parts


def main() -> None:
    from daphne.cli import CommandLineInterface  # cycle-breaker: importing it installs Twisted's reactor

    tune_gc()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
