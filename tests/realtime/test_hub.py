"""The process-local topic hub (``realtime.hub``) on the real channel layer (PubSub on the test
Redis) and real topic history: one group membership per topic per process, one pre-encoded frame
per event, and the per-socket seq rules (dedup, gap fill, held back while subscribing)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from websockets.frames import Frame
from websockets.streams import StreamReader

from realtime import streams
from realtime.hub import TopicHub, encode_text_frame


class Socket:
    """What the hub needs of a gateway connection; records the frames it is given."""

    def __init__(self, *, raw: bool = True, user_id: str = "u1") -> None:
        self.subs: dict[str, int] = {}
        self.closing = False
        self.user = type("U", (), {"pk": user_id})()
        self.frames: list[bytes] = []  # raw writes
        self.texts: list[str] = []  # write_text calls
        self.received: list[str] = []  # both, in the order the client would read them
        self.raw_write = self._raw if raw else None

    def _raw(self, frame: bytes) -> bool:
        self.frames.append(frame)
        self.received.append(decode(frame))
        return True

    async def write_text(self, text: str) -> None:
        self.texts.append(text)
        self.received.append(text)

    def seqs(self) -> list[int]:
        return [e["seq"] for e in map(json.loads, self.received) if "seq" in e]


def decode(frame: bytes) -> str:
    reader = StreamReader()
    reader.feed_data(frame)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value.data.decode()
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_pre_encoded_frame_is_one_valid_unmasked_text_frame(size):
    text = "é" * (size // 2) + "x" * (size % 2)
    frame = encode_text_frame(text)
    assert frame[0] == 0x81  # FIN + text
    assert frame[1] & 0x80 == 0  # not masked
    assert decode(frame) == text


@pytest.fixture
async def hub(db):
    layer = RedisPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=f"test-hub-{uuid.uuid4().hex[:8]}")
    hub = TopicHub(layer=layer)
    yield hub
    for task in list(hub._tasks):
        task.cancel()
    await asyncio.gather(*hub._tasks, return_exceptions=True)
    await layer.flush()


def group_subscriptions(topic: str) -> int:
    """Redis subscriptions of the topic's channel-layer group (what ``PUBSUB NUMSUB`` says)."""
    client = streams.sync_client()
    names = client.pubsub_channels(f"*__group__{streams.group_name(topic)}")
    return sum(n for _, n in client.pubsub_numsub(*names)) if names else 0


def event(topic: str, seq: int) -> dict:
    frame = streams.event_frame(topic=topic, seq=seq, type="test.tick", data_json=f'{{"n":{seq}}}', ts_ms=0)
    return {"type": "rt.event", "topic": topic, "seq": seq, "frame": frame}


async def publish(hub: TopicHub, topic: str, seq: int) -> None:
    await hub.layer.group_send(streams.group_name(topic), event(topic, seq))


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def subscribed(hub: TopicHub, topic: str, sock: Socket, seq: int = 0) -> Socket:
    await hub.join(topic, sock)
    sock.subs[topic] = seq
    await hub.go_live(topic, sock)
    return sock


async def test_one_group_membership_per_topic_serves_every_local_socket(hub):
    topic = f"user:{uuid.uuid4()}"
    socks = [await subscribed(hub, topic, Socket()) for _ in range(3)] + [await subscribed(hub, topic, Socket(raw=False))]
    assert group_subscriptions(topic) == 1  # the hub's channel, not one per socket
    await publish(hub, topic, 1)
    await until(lambda: all(s.seqs() == [1] for s in socks))
    assert socks[0].frames[0] is socks[1].frames[0]  # encoded once, the same bytes for every socket
    assert socks[3].texts == [event(topic, 1)["frame"]]  # a server without raw writes gets the text


async def test_duplicate_and_old_events_are_dropped(hub):
    topic = f"user:{uuid.uuid4()}"
    sock = await subscribed(hub, topic, Socket(), seq=5)
    for seq in (5, 4, 6, 6):
        await hub.dispatch(event(topic, seq))
    assert sock.seqs() == [6]
    assert hub.stats["dropped_duplicates"] == 3


async def test_a_gap_is_filled_from_history_once_for_all_sockets_behind(hub):
    topic = f"user:{uuid.uuid4()}"
    for n in range(1, 4):
        await asyncio.to_thread(streams.append, topic=topic, type="test.tick", data_json=f'{{"n":{n}}}',
                                event_id=str(uuid.uuid4()))
    behind = [await subscribed(hub, topic, Socket()) for _ in range(2)]
    current = await subscribed(hub, topic, Socket(), seq=2)
    await hub.dispatch(event(topic, 3))  # 1 and 2 were lost on the way
    await until(lambda: all(s.seqs() == [1, 2, 3] for s in behind))
    assert current.seqs() == [3]
    assert hub.stats["gap_fills"] == 1


async def test_events_after_a_gap_wait_for_the_fill_and_keep_their_order(hub):
    topic = f"user:{uuid.uuid4()}"
    for n in range(1, 3):
        await asyncio.to_thread(streams.append, topic=topic, type="test.tick", data_json="{}", event_id=str(uuid.uuid4()))
    sock = await subscribed(hub, topic, Socket())
    await hub.dispatch(event(topic, 2))  # starts a fill (1 is missing)
    await hub.dispatch(event(topic, 3))  # must not overtake 1 and 2
    await until(lambda: sock.seqs() == [1, 2, 3])


async def test_events_arriving_while_a_socket_subscribes_follow_its_reply(hub):
    topic = f"user:{uuid.uuid4()}"
    sock = Socket()
    await hub.join(topic, sock)
    await hub.dispatch(event(topic, 1))
    await hub.dispatch(event(topic, 2))
    assert sock.seqs() == []  # held while subscribing (the reply is not sent yet)
    sock.subs[topic] = 1  # the snapshot already covered seq 1
    await hub.go_live(topic, sock)
    assert sock.seqs() == [2]
    await hub.dispatch(event(topic, 3))
    assert sock.seqs() == [2, 3]


async def test_a_resubscribing_socket_is_held_back_until_its_replay_is_sent(hub):
    topic = f"user:{uuid.uuid4()}"
    sock = await subscribed(hub, topic, Socket())
    await hub.join(topic, sock)  # resubscribe with since: the replay is being read
    await hub.dispatch(event(topic, 1))
    assert sock.seqs() == []
    await sock.write_text(event(topic, 1)["frame"])  # the replay sends 1 itself
    sock.subs[topic] = 1
    await hub.go_live(topic, sock)
    assert sock.seqs() == [1]


async def test_last_local_subscriber_leaving_leaves_the_group(hub):
    topic = f"user:{uuid.uuid4()}"
    first, second = await subscribed(hub, topic, Socket()), await subscribed(hub, topic, Socket())
    hub.leave(topic, first)
    await asyncio.sleep(0.05)
    assert group_subscriptions(topic) == 1
    hub.leave(topic, second)
    await until(lambda: topic not in hub.topics)
    assert group_subscriptions(topic) == 0
    await publish(hub, topic, 1)
    await asyncio.sleep(0.1)
    assert first.seqs() == second.seqs() == []


async def test_closing_sockets_and_other_users_ephemeral_rules(hub):
    topic = f"chat:{uuid.uuid4()}"
    sender, reader, gone = Socket(user_id="a"), Socket(user_id="b"), Socket(user_id="c")
    for sock in (sender, reader, gone):
        await subscribed(hub, topic, sock)
    gone.closing = True
    frame = json.dumps({"op": "event", "topic": topic, "type": "chat.typing", "data": {}, "ephemeral": True})
    await hub.dispatch({"type": "rt.ephemeral", "topic": topic, "frame": frame, "exclude_user_id": "a"})
    await hub.dispatch(event(topic, 1))
    assert [decode(f) for f in reader.frames][0] == frame
    assert reader.seqs() == [1]
    assert sender.frames and all("chat.typing" not in decode(f) for f in sender.frames)
    assert gone.frames == []
