"""Notifications on real sockets: a Daphne process, real Redis and PostgreSQL.

Notifications are created in the pytest process (committed, so the outbox relay runs) and
received by sockets connected to the Daphne process.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from websockets.exceptions import ConnectionClosed

from notifications import selectors
from tests.conftest import client_for, tokens_for
from tests.factories.core import UserFactory
from tests.factories.notifications import notify_one
from tests.live import WSClient

pytestmark = pytest.mark.live


def subscribed(live, user) -> tuple[WSClient, dict]:
    client = WSClient(live.ws_url)
    client.auth(tokens_for(user)["access"])
    reply = client.request("subscribe", topic=f"user:{user.pk}")
    assert reply["status"] == "ok", reply
    return client, reply["data"]


def drain(client: WSClient, topic: str, type: str, quiet: float = 1.0) -> list[dict]:
    """Every event of ``type`` on ``topic`` until the socket is quiet for ``quiet`` seconds."""
    found = [ev for ev in list(client.events) if ev.get("topic") == topic and ev.get("type") == type]
    client.events.clear()
    while True:
        try:
            frame = client.recv(timeout=quiet)
        except (TimeoutError, ConnectionClosed):
            return found
        if frame.get("op") == "event" and frame.get("topic") == topic and frame.get("type") == type:
            found.append(frame)


def test_subscriber_gets_notification_created_and_counts_and_snapshot_counts(live):
    user, other = UserFactory(), UserFactory()
    with transaction.atomic():
        notify_one(user, title="Earlier")
    client, data = subscribed(live, user)
    assert data["recovered"] is False
    assert data["snapshot"]["notifications"] == {"unread": 1, "unseen": 1}
    other_client, _ = subscribed(live, other)

    with transaction.atomic():
        n = notify_one(user, kind="auction.outbid", title="You were outbid", data={"auction_id": "a-1"})
    topic = f"user:{user.pk}"
    created = client.next_event(topic, "notification.created")
    assert created["data"]["id"] == str(n.pk)
    assert created["data"]["kind"] == "auction.outbid"
    assert created["data"]["title"] == "You were outbid"
    assert created["data"]["data"] == {"auction_id": "a-1"}
    assert created["data"]["read_at"] is None
    counts = client.next_event(topic, "notification.counts")
    assert counts["data"] == {"unread": 2, "unseen": 2}
    assert counts["seq"] == created["seq"] + 1

    # nobody else hears about it
    assert drain(other_client, f"user:{other.pk}", "notification.created", quiet=0.5) == []


def test_two_sockets_of_one_user_both_get_the_counts_after_read_all(live):
    user = UserFactory()
    with transaction.atomic():
        for i in range(3):
            notify_one(user, title=f"n{i}")
    phone, _ = subscribed(live, user)
    laptop, _ = subscribed(live, user)
    r = client_for(user).post("/api/v1/notifications/read-all/")
    assert r.status_code == 200 and r.data["updated"] == 3
    topic = f"user:{user.pk}"
    for socket in (phone, laptop):
        read_all = socket.next_event(topic, "notification.read_all")
        assert read_all["data"]["count"] == 3
        assert socket.next_event(topic, "notification.counts")["data"] == {"unread": 0, "unseen": 0}


def test_read_on_one_device_updates_the_other(live):
    user = UserFactory()
    with transaction.atomic():
        n = notify_one(user)
    phone, _ = subscribed(live, user)
    laptop, _ = subscribed(live, user)
    client_for(user).post(f"/api/v1/notifications/{n.pk}/read/")
    topic = f"user:{user.pk}"
    for socket in (phone, laptop):
        updated = socket.next_event(topic, "notification.updated")
        assert updated["data"]["id"] == str(n.pk) and updated["data"]["read_at"]
        assert socket.next_event(topic, "notification.counts")["data"] == {"unread": 0, "unseen": 0}


def test_100_concurrent_notifications_last_counts_on_the_socket_equal_the_truth(live):
    user = UserFactory()
    client, _ = subscribed(live, user)

    def create(i):
        try:
            with transaction.atomic():
                notify_one(user, kind="auction.ending_soon", title=f"n{i}")  # in-app only: no eager task in threads
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(create, range(100)))
    truth = selectors.true_counts(user_id=user.pk)
    assert truth == {"unread": 100, "unseen": 100}

    topic = f"user:{user.pk}"
    deadline = time.monotonic() + 20
    events: list[dict] = []
    while time.monotonic() < deadline:
        events += drain(client, topic, "notification.counts", quiet=1.0)
        if events and events[-1]["data"] == truth:
            break
    assert events, "no counts event arrived"
    assert events[-1]["data"] == truth
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert [e["data"]["unread"] for e in events] == list(range(1, 101))  # in order, none lost
