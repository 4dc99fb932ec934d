"""The WebSocket gateway end to end: a real Daphne process, real sockets, real Redis and PostgreSQL.

Events are published from the pytest process (or a separate ``manage.py`` process) and received
by sockets connected to the Daphne process, so every test here crosses a process boundary.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime import outbox, streams
from realtime.models import OutboxEvent
from tests.conftest import tokens_for
from tests.factories.core import UserFactory
from tests.live import ROOT, WSClient, subprocess_env
from tests.realtime.probes import ProbeTick

pytestmark = pytest.mark.live


def closed_code(client: WSClient, timeout: float = 5.0) -> int:
    """Read until the server closes the socket; return the close code."""
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed) as info:
        while time.monotonic() < deadline:
            client.recv(timeout=max(0.01, deadline - time.monotonic()))
        raise AssertionError("socket still open")
    return info.value.rcvd.code if info.value.rcvd else None


def signed_in(live, user) -> WSClient:
    client = WSClient(live.ws_url)
    client.auth(tokens_for(user)["access"])
    return client


def publish_committed(topic: str, data: dict) -> None:
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(**data))


# --- authentication --------------------------------------------------------------------------

def test_socket_without_auth_frame_is_closed_with_4401(live):
    client = WSClient(live.ws_url)
    started = time.monotonic()
    assert closed_code(client) == 4401
    assert time.monotonic() - started >= 1.0  # the test server's deadline is 1.5 s


def test_token_in_url_is_ignored(live):
    user = UserFactory()
    client = WSClient(live.ws_url + "?token=" + tokens_for(user)["access"])
    reply = client.request("subscribe", topic=f"user:{user.pk}")
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "not_authenticated"
    assert closed_code(client) == 4401


def test_auth_reply_gives_user_and_expiry(live):
    user = UserFactory()
    client = WSClient(live.ws_url)
    reply = client.request("auth", token=tokens_for(user)["access"])
    assert reply["status"] == "ok"
    assert reply["data"]["user_id"] == str(user.pk)
    assert reply["data"]["expires_at"].endswith("Z")


@pytest.mark.parametrize("kind", ["garbage", "forged", "expired", "refresh_as_access"])
def test_bad_tokens_are_refused_and_socket_closed(live, kind):
    user = UserFactory()
    if kind == "garbage":
        token = "not-a-jwt"
    elif kind == "forged":
        import jwt

        token = jwt.encode({"token_type": "access", "user_id": str(user.pk), "jti": "x", "exp": int(time.time()) + 600},
                           "another-signing-key-of-at-least-32-bytes", algorithm="HS256")
    elif kind == "expired":
        t = AccessToken.for_user(user)
        t.set_exp(lifetime=timedelta(seconds=-5))
        token = str(t)
    else:
        token = tokens_for(user)["refresh"]
    client = WSClient(live.ws_url)
    reply = client.request("auth", token=token)
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "invalid_token"
    assert closed_code(client) == 4401


def test_socket_closes_with_4401_when_the_token_expires(live):
    user = UserFactory()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=2))
    client = WSClient(live.ws_url)
    client.auth(str(token))
    assert closed_code(client, timeout=6) == 4401


def test_reauth_with_fresh_token_keeps_socket_open_past_first_expiry(live):
    user = UserFactory()
    short = AccessToken.for_user(user)
    short.set_exp(lifetime=timedelta(seconds=2))
    client = WSClient(live.ws_url)
    client.auth(str(short))
    client.auth(tokens_for(user)["access"])
    time.sleep(2.5)
    assert client.request("ping")["status"] == "ok"


def test_reauth_as_another_user_is_refused(live):
    alice, bob = UserFactory(), UserFactory()
    client = signed_in(live, alice)
    reply = client.request("auth", token=tokens_for(bob)["access"])
    assert reply["error"]["code"] == "user_mismatch"
    assert client.request("ping")["status"] == "ok"


def test_disconnect_user_closes_every_socket_of_that_user_only(live):
    alice, bob = UserFactory(), UserFactory()
    a1, a2, b = signed_in(live, alice), signed_in(live, alice), signed_in(live, bob)
    with transaction.atomic():
        outbox.disconnect_user(alice.pk)
    assert closed_code(a1) == 4401
    assert closed_code(a2) == 4401
    assert b.request("ping")["status"] == "ok"


# --- handshake and frame limits --------------------------------------------------------------

def test_disallowed_origin_is_refused_at_handshake(live):
    with pytest.raises(InvalidStatus) as info:
        WSClient(live.ws_url, origin="http://evil.example")
    assert info.value.response.status_code == 403


def test_allowed_origin_and_missing_origin_are_accepted(live):
    user = UserFactory()
    for origin in ("http://allowed.example", None):
        client = WSClient(live.ws_url, origin=origin)
        client.auth(tokens_for(user)["access"])
        client.close()


def test_frame_over_64_kib_closes_with_1009(live):
    client = signed_in(live, UserFactory())
    client.send(json.dumps({"op": "ping", "pad": "x" * (65 * 1024)}))
    assert closed_code(client) == 1009


def test_thousand_malformed_frames_get_bad_frame_replies_and_no_traceback(live):
    client = signed_in(live, UserFactory())
    samples = ["{", "[]", "null", '"str"', '{"op": 5}', '{"op": "nope"}', '{"op": "ping", "ref": {"a": 1}}',
               '{"op": "subscribe", "topic": "user:x", "since": -1}', "\u0000", '{"op": "subscribe", "topic": 7}']
    for i in range(1000):
        client.send(samples[i % len(samples)])
    codes = [client.recv()["error"]["code"] for _ in range(1000)]
    assert codes.count("bad_frame") == 1000  # a topic that is not a string too (realtime.frames)
    assert client.request("ping")["status"] == "ok"  # still connected and serving
    log = live.log()
    assert "Traceback" not in log
    assert "Error" not in log.replace("error", "")


def test_unknown_op_and_unknown_topic_get_clear_errors(live):
    client = signed_in(live, UserFactory())
    assert client.request("dance")["error"]["code"] == "bad_frame"
    assert client.request("subscribe", topic="nope:1")["error"]["code"] == "unknown_topic"
    assert client.request("subscribe", topic="no colon")["error"]["code"] == "invalid_topic"


def test_command_flood_gets_rate_limited_then_closed_with_4429(live):
    user = UserFactory()
    client = signed_in(live, user)
    for _ in range(60):
        client.send({"op": "command", "topic": f"user:{user.pk}", "name": "noop"})
    codes = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            codes.append(client.recv()["error"]["code"])
    assert codes[:20] == ["unknown_command"] * 20  # the burst of 20 passes the limiter
    assert "rate_limited" in codes
    assert info.value.rcvd.code == 4429


def test_ping_reply_carries_server_time(live):
    client = signed_in(live, UserFactory())
    reply = client.request("ping")
    assert reply["status"] == "ok" and reply["data"]["server_time"].endswith("Z")


# --- topics, snapshot, replay ----------------------------------------------------------------

def test_other_users_topic_is_forbidden(live):
    alice, bob = UserFactory(), UserFactory()
    client = signed_in(live, alice)
    reply = client.request("subscribe", topic=f"user:{bob.pk}")
    assert reply["status"] == "error" and reply["error"]["code"] == "forbidden"
    publish_committed(f"user:{bob.pk}", {"n": 1})
    with pytest.raises(TimeoutError):
        client.next_event(timeout=0.7)


def test_subscribe_without_since_gives_snapshot_then_events_with_consecutive_seq(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    reply = client.request("subscribe", topic=topic)
    assert reply["status"] == "ok"
    assert reply["data"]["recovered"] is False
    assert reply["data"]["snapshot"]["user_id"] == str(user.pk)
    start = reply["data"]["seq"]
    for n in range(5):
        publish_committed(topic, {"n": n})
    events = [client.next_event(topic) for _ in range(5)]
    assert [e["seq"] for e in events] == list(range(start + 1, start + 6))
    assert [e["data"]["n"] for e in events] == list(range(5))
    assert all(e["type"] == "probe.tick" and e["ts"].endswith("Z") for e in events)


def test_two_sockets_of_one_user_both_receive_each_event_once(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    a, b = signed_in(live, user), signed_in(live, user)
    for c in (a, b):
        c.request("subscribe", topic=topic)
    publish_committed(topic, {"x": "1.50"})
    for c in (a, b):
        ev = c.next_event(topic)
        assert ev["data"] == {"x": "1.50"}
        with pytest.raises(TimeoutError):
            c.next_event(topic, timeout=0.5)


def test_since_replays_exactly_the_missed_events(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    for n in range(3):
        publish_committed(topic, {"n": n})
    seen = [client.next_event(topic)["seq"] for _ in range(3)]
    client.close()  # the tunnel
    for n in range(3, 7):
        publish_committed(topic, {"n": n})
    client = signed_in(live, user)
    reply = client.request("subscribe", topic=topic, since=seen[-1])
    assert reply["data"] == {"seq": seen[-1] + 4, "recovered": True}
    replayed = [e for e in client.events if e["op"] == "event"]
    assert [e["seq"] for e in replayed] == [seen[-1] + i for i in range(1, 5)]
    assert [e["data"]["n"] for e in replayed] == [3, 4, 5, 6]
    publish_committed(topic, {"n": 7})
    client.events.clear()
    assert client.next_event(topic)["seq"] == seen[-1] + 5


def test_since_beyond_history_gives_recovered_false_and_snapshot(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    for n in range(3):
        publish_committed(topic, {"n": n})
    streams.sync_client().xtrim(streams.stream_key(topic), minid="3-0", approximate=False)  # history lost events 1-2
    client = signed_in(live, user)
    reply = client.request("subscribe", topic=topic, since=0)
    assert reply["data"]["recovered"] is False
    assert reply["data"]["seq"] == 3
    assert reply["data"]["snapshot"]["user_id"] == str(user.pk)
    assert not [e for e in client.events if e["op"] == "event"]


def test_since_ahead_of_server_seq_gives_snapshot(live):
    user = UserFactory()
    client = signed_in(live, user)
    reply = client.request("subscribe", topic=f"user:{user.pk}", since=999)
    assert reply["data"]["recovered"] is False and reply["data"]["seq"] == 0


def test_unsubscribe_stops_events(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    assert client.request("unsubscribe", topic=topic)["data"]["subscribed"] is False
    publish_committed(topic, {})
    with pytest.raises(TimeoutError):
        client.next_event(timeout=0.7)


def test_gap_in_live_events_is_filled_from_history(live):
    """An event fanned out after a lost one: the gateway sends the lost one from history first."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    lost = streams.append(topic=topic, type="test.lost", data_json='{"n":1}', event_id="00000000-0000-0000-0000-0000000000a1")
    got = streams.append(topic=topic, type="test.kept", data_json='{"n":2}', event_id="00000000-0000-0000-0000-0000000000a2")
    frame = streams.event_frame(topic=topic, seq=got.seq, type="test.kept", data_json='{"n":2}', ts_ms=got.ts_ms)
    async_to_sync(get_channel_layer().group_send)(
        streams.group_name(topic), {"type": "rt.event", "topic": topic, "seq": got.seq, "frame": frame}
    )
    first, second = client.next_event(topic), client.next_event(topic)
    assert (first["seq"], first["type"]) == (lost.seq, "test.lost")
    assert (second["seq"], second["type"]) == (got.seq, "test.kept")


# --- outbox: commit, rollback, sweep, cross-process ------------------------------------------

def test_rolled_back_transaction_publishes_nothing(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            outbox.publish(topic=topic, event=ProbeTick.build(label="rolled_back"))
            raise RuntimeError("boom")
    with pytest.raises(TimeoutError):
        client.next_event(timeout=0.7)
    assert not OutboxEvent.objects.filter(topic=topic).exists()
    publish_committed(topic, {"label": "committed"})
    ev = client.next_event(topic)
    assert (ev["data"], ev["seq"]) == ({"label": "committed"}, 1)  # the rollback consumed no seq


def test_outbox_row_left_unpublished_is_sent_by_the_sweep(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    # A crash between commit and relay: the row exists, nobody relayed it.
    row = OutboxEvent.objects.create(topic=topic, type="probe.tick", data={"k": "v"})
    OutboxEvent.objects.filter(pk=row.pk).update(created_at=row.created_at - timedelta(seconds=30))
    with pytest.raises(TimeoutError):
        client.next_event(timeout=0.5)
    from realtime.tasks import sweep_outbox

    assert sweep_outbox.delay().get() >= 1
    ev = client.next_event(topic)
    assert (ev["type"], ev["data"]) == ("probe.tick", {"k": "v"})
    row.refresh_from_db()
    assert row.published_at is not None and row.seq == ev["seq"]


def test_republishing_an_event_is_not_delivered_twice(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    publish_committed(topic, {"label": "once"})
    first = client.next_event(topic)
    # The relay crashed after Redis but before marking the row: the sweep publishes it again.
    OutboxEvent.objects.filter(topic=topic).update(published_at=None, created_at=OutboxEvent.objects.get(topic=topic).created_at - timedelta(seconds=30))
    outbox.sweep()
    assert OutboxEvent.objects.get(topic=topic).seq == first["seq"]
    with pytest.raises(TimeoutError):
        client.next_event(timeout=0.7)


def test_event_published_by_another_process_reaches_socket(live):
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    result = subprocess.run(
        [sys.executable, "manage.py", "realtime_publish", topic, "system.announcement", "--data", '{"text": "maintenance at 02:00"}'],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ev = client.next_event(topic, timeout=10)
    assert ev["type"] == "system.announcement"
    assert ev["data"] == {"text": "maintenance at 02:00"}


def test_idle_socket_survives_past_redis_client_timeouts_and_still_receives(live):
    """Regression: redis-py 8's 5 s default socket timeout broke the channel layer's blocking
    receive and dropped every idle socket after ~5 s (channels_redis#422)."""
    user = UserFactory()
    topic = f"user:{user.pk}"
    client = signed_in(live, user)
    client.request("subscribe", topic=topic)
    time.sleep(7)
    publish_committed(topic, {"label": "after_idle"})
    assert client.next_event(topic)["data"] == {"label": "after_idle"}
    assert "Traceback" not in live.log()


# --- resources -------------------------------------------------------------------------------

def _redis_clients_on_test_db() -> int:
    """Connections to the test Redis that selected this run's database (the Daphne process's,
    this process's), from ``CLIENT LIST``."""
    from django.conf import settings

    db = int(settings.REDIS_URL.rsplit("/", 1)[1] or 0)
    return sum(1 for c in streams.sync_client().client_list() if int(c.get("db", -1)) == db)


def test_sockets_share_the_server_processs_redis_connections(live):
    """Each socket used to open its own Redis connection (the token-denylist check through a
    per-task Django cache object), so Redis' ``maxclients`` capped the sockets per deployment."""
    first = UserFactory()
    warm = signed_in(live, first)  # the process's pools exist before counting
    assert warm.request("subscribe", topic=f"user:{first.pk}")["status"] == "ok"
    before = _redis_clients_on_test_db()
    clients = []
    for _ in range(40):
        user = UserFactory()
        client = signed_in(live, user)
        assert client.request("subscribe", topic=f"user:{user.pk}")["status"] == "ok"
        clients.append(client)
    after = _redis_clients_on_test_db()
    assert after - before <= 8, f"{after - before} new Redis connections for 40 sockets"
    for client in clients + [warm]:
        client.close()
