"""Concurrent sends: seq 1..100 with no gap or duplicate, retries give one message, every
subscribed socket receives the messages once, in order; unread counts stay exact."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient
from websockets.exceptions import ConnectionClosed

from chat import selectors
from chat.models import ChatReadState, Message
from tests.chat.conftest import make_chat, subscribed
from tests.conftest import tokens_for

pytestmark = pytest.mark.live

N = 100


def collect(client, topic: str, type: str, n: int, timeout: float = 30.0) -> list[dict]:
    found = [e for e in list(client.events) if e.get("topic") == topic and e.get("type") == type]
    client.events.clear()
    deadline = time.monotonic() + timeout
    while len(found) < n and time.monotonic() < deadline:
        try:
            frame = client.recv(timeout=max(0.05, deadline - time.monotonic()))
        except (TimeoutError, ConnectionClosed):
            break
        if frame.get("op") == "event" and frame.get("topic") == topic and frame.get("type") == type:
            found.append(frame)
    return found


def test_100_concurrent_sends_get_seq_1_to_100_once_and_arrive_in_order_everywhere(live, settings):
    settings.CHAT_SEND_RATE_LIMITS = []  # in this (sending) process only
    chat = make_chat()
    senders = [chat.buyer, chat.owner, chat.clerk]
    sockets = [subscribed(live, user, chat.topic)[0] for user in senders]
    bearer = {u.pk: f"Bearer {tokens_for(u)['access']}" for u in senders}

    def post(i: int) -> tuple[int, int]:
        user = senders[i % 3]
        try:
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=bearer[user.pk])
            r = api.post(f"{chat.url}messages/", {"text": f"m{i}", "client_msg_id": f"c{i}"}, format="json")
            return r.status_code, r.json()["message"]["seq"]
        finally:
            connection.close()

    # every 5th send is also retried concurrently with the same client_msg_id
    jobs = list(range(N)) + list(range(0, N, 5))
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(post, jobs))

    assert all(status in (200, 201) for status, _ in results)
    assert sum(1 for status, _ in results if status == 201) == N
    rows = list(Message.objects.filter(conversation=chat.conversation).order_by("seq").values_list("seq", "text"))
    assert [seq for seq, _ in rows] == list(range(1, N + 1))
    assert sorted(text for _, text in rows) == sorted(f"m{i}" for i in range(N))
    by_text = dict((text, seq) for seq, text in rows)
    for (_status, seq), i in zip(results, jobs, strict=True):
        assert seq == by_text[f"m{i}"]  # a retry got the same message back

    for sock in sockets:
        got = collect(sock, chat.topic, "chat.message", N)
        assert [e["data"]["seq"] for e in got] == list(range(1, N + 1))  # each once, in order
        assert [e["seq"] for e in got] == list(range(got[0]["seq"], got[0]["seq"] + N))  # no gap in the topic

    # unread counts are exact: messages of others after each participant's read pointer
    for user in senders:
        state = ChatReadState.objects.get(conversation=chat.conversation, user=user)
        truth = Message.objects.filter(conversation=chat.conversation, seq__gt=state.last_read_seq,
                                       deleted=False).exclude(sender=user).count()
        assert state.unread == truth
        assert selectors.unread_summary(user=user)["total_unread"] == truth
