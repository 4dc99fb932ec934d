"""Server keep-alive: Daphne pings an idle socket and drops a peer that never answers."""

import base64
import json
import os
import socket
import struct
import time

import pytest

from tests.conftest import tokens_for
from tests.factories.core import UserFactory
from tests.live import LiveServer

pytestmark = pytest.mark.live


@pytest.fixture
def fast_ping_server(transactional_db, tmp_path):
    server = LiveServer(tmp_path / "daphne.log", ping_interval=1, ping_timeout=2)
    yield server
    server.stop()


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", n)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """The next (opcode, payload), or None when the server closed or reset the connection."""
    try:
        return _read_frame_raw(sock)
    except ConnectionResetError:
        return None


def _read_frame_raw(sock: socket.socket) -> tuple[int, bytes] | None:
    head = sock.recv(2)
    if len(head) < 2:
        return None
    opcode, n = head[0] & 0x0F, head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", sock.recv(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", sock.recv(8))[0]
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return opcode, data


def test_server_pings_idle_socket_and_drops_peer_that_never_answers(fast_ping_server):
    user = UserFactory()
    sock = socket.create_connection(("127.0.0.1", fast_ping_server.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1024)
    assert response.startswith(b"HTTP/1.1 101")
    sock.sendall(_masked_text_frame(json.dumps({"op": "auth", "ref": "1", "token": tokens_for(user)["access"]})))
    opcodes = []
    started = time.monotonic()
    while True:  # never answer a ping
        frame = _read_frame(sock)
        if frame is None:
            break
        opcodes.append(frame[0])
        if frame[0] == 0x8:
            break
    elapsed = time.monotonic() - started
    assert opcodes[0] == 0x1  # the auth reply
    assert 0x9 in opcodes  # the server pinged
    assert opcodes[-1] == 0x8 or frame is None  # then closed on us
    assert elapsed < 9
