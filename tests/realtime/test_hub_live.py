"""The topic hub on a real Daphne process (``python -m realtime.daphne``, raw frame writes)."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from websockets.sync.client import connect

from realtime import streams
from tests.conftest import tokens_for
from tests.factories.core import UserFactory

pytestmark = pytest.mark.live


def test_a_reader_that_falls_behind_gets_every_event_in_order(live):
    """Frames go straight to the socket while the kernel takes them, then through Twisted's
    buffer; a client that stops reading (its buffers fill) still gets every frame, in order."""
    user = UserFactory()
    topic = f"user:{user.pk}"
    ws = connect(live.ws_url, max_size=2**22, max_queue=4)  # stops reading after 4 queued messages
    ws.send(json.dumps({"op": "auth", "ref": "a", "token": tokens_for(user)["access"]}))
    assert json.loads(ws.recv(timeout=5))["status"] == "ok"
    ws.send(json.dumps({"op": "subscribe", "ref": "s", "topic": topic}))
    assert json.loads(ws.recv(timeout=5))["data"]["seq"] == 0
    filler = "x" * 60_000
    layer = get_channel_layer()

    async def send_all() -> None:
        for seq in range(1, 301):  # ~18 MB: more than the socket buffers of both ends hold
            frame = streams.event_frame(topic=topic, seq=seq, type="test.bulk", data_json=json.dumps({"pad": filler}), ts_ms=0)
            await layer.group_send(streams.group_name(topic), {"type": "rt.event", "topic": topic, "seq": seq, "frame": frame})

    async_to_sync(send_all)()
    time.sleep(1.0)  # let the server run into the full buffers
    seqs = [json.loads(ws.recv(timeout=20))["seq"] for _ in range(300)]
    assert seqs == list(range(1, 301))
    ws.send(json.dumps({"op": "ping", "ref": "p"}))
    assert json.loads(ws.recv(timeout=5))["ref"] == "p"
    ws.close()
    assert "Traceback" not in live.log()
