"""The gateway under faults of its peers: sockets that close while events flow, and idle sockets
on Redis clients with short timeouts (a real Daphne process each)."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time

import pytest
from django.db import transaction

from realtime import outbox
from tests.conftest import tokens_for
from tests.factories.core import UserFactory
from tests.live import LiveServer, WSClient
from tests.realtime.probes import ProbeTick

pytestmark = [pytest.mark.live, pytest.mark.chaos]


@pytest.fixture
def own_server(transactional_db, tmp_path):
    """A Daphne of this test alone, so its log holds only what this test caused."""
    servers = []

    def start(**env) -> LiveServer:
        servers.append(LiveServer(tmp_path / f"daphne{len(servers)}.log", **env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _raw_socket(port: int) -> socket.socket:
    """A WebSocket opened by hand, so that the test controls when it reads and closes."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader: the server's writes back up
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1024)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_sockets_closing_while_their_topic_receives_events_log_no_error(own_server):
    """Issue 14, row 8: ``Attempt to send on a closed protocol`` from ``rt_event``. Slow clients
    (small receive buffers, not reading) close while events of their topic keep coming: the server
    cannot flush and drop their connections at once, so their side stays *closing* while more
    events arrive for them."""
    server = own_server()
    user = UserFactory()
    topic = f"user:{user.pk}"
    token = tokens_for(user)["access"]
    socks = []
    for i in range(4):
        sock = _raw_socket(server.port)
        sock.sendall(_masked(0x1, json.dumps({"op": "auth", "ref": "a", "token": token}).encode()))
        sock.sendall(_masked(0x1, json.dumps({"op": "subscribe", "ref": "s", "topic": topic}).encode()))
        socks.append(sock)
    watcher = WSClient(server.ws_url)
    watcher.auth(token)
    assert watcher.request("subscribe", topic=topic)["status"] == "ok"
    pad = "x" * 200_000
    for i in range(20):  # ~4 MB per slow socket: more than the kernel's buffers hold (and each event
        # is over 64 KiB, the inbound frame limit, which the server's own frames are not held to)
        with transaction.atomic():
            outbox.publish(topic=topic, event=ProbeTick.build(i=i, pad=pad))
    assert watcher.next_event(topic, timeout=10)["data"]["i"] == 0
    for sock in socks:  # close frames; these sockets never read
        sock.sendall(_masked(0x8, struct.pack("!H", 1000)))
    time.sleep(0.2)
    for i in range(20, 40):
        with transaction.atomic():
            outbox.publish(topic=topic, event=ProbeTick.build(i=i, pad=pad))
    seen = [watcher.next_event(topic, timeout=10)["data"]["i"] for _ in range(39)]
    assert seen == list(range(1, 40))  # the live socket got every event, in order
    for sock in socks:
        sock.close()
    time.sleep(0.5)
    log = server.log()
    assert "closed protocol" not in log and "Exception inside application" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def test_idle_socket_survives_short_redis_timeouts_and_health_checks(own_server):
    """The channel layer's PubSub reader gets no read timeout (channels_redis#422); with a 1 s read
    timeout and 1 s health-check interval on every other client, a socket idle for 4 s still
    receives."""
    server = own_server(REDIS_SOCKET_TIMEOUT="1", REDIS_HEALTH_CHECK_INTERVAL="1")
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = WSClient(server.ws_url)
    client.auth(tokens_for(user)["access"])
    assert client.request("subscribe", topic=topic)["status"] == "ok"
    time.sleep(4)
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(label="after_idle"))
    assert client.next_event(topic, timeout=10)["data"] == {"label": "after_idle"}
    assert client.request("ping")["status"] == "ok"
    assert "Traceback" not in server.log()
