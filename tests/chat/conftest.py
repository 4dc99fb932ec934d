"""Fixtures of the chat tests: a conversation between ``buyer`` and the store of ``owner`` (with
one more staff member, ``clerk``), and helpers to read the outbox."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chat.models import Conversation
from commerce.stores.models import VendorStaff
from realtime.models import OutboxEvent
from tests.conftest import tokens_for
from tests.factories.chat import ConversationFactory
from tests.live import WSClient


@dataclass
class Chat:
    conversation: Conversation
    buyer: object
    owner: object
    clerk: object

    @property
    def id(self) -> str:
        return str(self.conversation.pk)

    @property
    def url(self) -> str:
        return f"/api/v1/chat/conversations/{self.conversation.pk}/"

    @property
    def topic(self) -> str:
        return f"chat:{self.conversation.pk}"


def make_chat() -> Chat:
    conversation = ConversationFactory(staff=1)
    owner = conversation.vendor.owner
    clerk = VendorStaff.objects.exclude(user=owner).get(vendor=conversation.vendor).user
    return Chat(conversation=conversation, buyer=conversation.buyer, owner=owner, clerk=clerk)


@pytest.fixture
def chat(db) -> Chat:
    return make_chat()


def device(live, user) -> WSClient:
    client = WSClient(live.ws_url)
    client.auth(tokens_for(user)["access"])
    return client


def subscribed(live, user, *topics: str) -> tuple[WSClient, list[dict]]:
    client = device(live, user)
    replies = []
    for topic in topics:
        reply = client.request("subscribe", topic=topic)
        assert reply["status"] == "ok", reply
        replies.append(reply["data"])
    return client, replies


def events(topic: str, type: str | None = None) -> list[tuple[str, dict]]:
    """``(type, data)`` of the outbox events of ``topic``, oldest first."""
    qs = OutboxEvent.objects.filter(topic=topic).order_by("id")
    if type:
        qs = qs.filter(type=type)
    return [(e.type, e.data) for e in qs]


@pytest.fixture(autouse=True)
def _celery_join_flag_reset():
    """Eager Celery may leave its "inside a task" flag set in a thread; reset it after each test."""
    from celery._state import _set_task_join_will_block

    yield
    _set_task_join_will_block(False)


@pytest.fixture
def live(live):
    """The session's Daphne (see tests/conftest.py); fails the test if the server logged a
    traceback while it ran (every client-caused error must be an error reply, never a crash)."""
    start = len(live.log())
    yield live
    new = live.log()[start:]
    assert "Traceback" not in new, new[-4000:]
