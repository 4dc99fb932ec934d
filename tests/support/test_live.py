"""Support tickets over real sockets (a Daphne process on the test database, real Redis): who
may subscribe and command, a reply reaching the requester live, typing relayed, and internal
notes reaching agents on the queue but never the requester."""

from __future__ import annotations

import uuid

import pytest

from support import services
from support.models import TicketMessage
from tests.chat.conftest import device, subscribed
from tests.factories.core import UserFactory
from tests.factories.support import agent, open_ticket
from tests.live import WSClient

pytestmark = pytest.mark.live


def no_event(client: WSClient, topic: str, type: str | None = None, wait: float = 0.5) -> bool:
    try:
        client.next_event(topic, type, timeout=wait)
    except TimeoutError:
        return True
    return False


def test_only_the_requester_and_agents_subscribe_or_command(live):
    buyer = UserFactory()
    ticket = open_ticket(requester=buyer)
    outsider = device(live, UserFactory())
    for topic in (f"ticket:{ticket.pk}", f"ticket:{uuid.uuid4()}", "ticket:not-a-uuid", "support_queue:all"):
        assert outsider.request("subscribe", topic=topic)["error"]["code"] == "forbidden", topic
    for name, data in (("send", {"text": "hi"}), ("typing", {"state": "start"}), ("read", {"up_to_seq": 1})):
        reply = outsider.request("command", topic=f"ticket:{ticket.pk}", name=name, data=data)
        assert reply["status"] == "error" and reply["error"]["code"] == "forbidden", (name, reply)
    requester = device(live, buyer)
    assert requester.request("subscribe", topic="support_queue:all")["error"]["code"] == "forbidden"
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_a_reply_typing_and_notes_over_the_socket(live):
    buyer, staff = UserFactory(), agent()
    ticket = open_ticket(requester=buyer)
    topic = f"ticket:{ticket.pk}"
    phone, [mine] = subscribed(live, buyer, topic)
    desk, [theirs, queue] = subscribed(live, staff, topic, "support_queue:all")
    assert "notes" not in mine["snapshot"] and theirs["snapshot"]["notes"] == []
    assert [t["id"] for t in queue["snapshot"]["tickets"]] == [str(ticket.pk)]

    reply = desk.request("command", topic=topic, name="send", data={"text": "We are on it.", "client_msg_id": "a-1"})
    assert reply["status"] == "ok" and reply["data"]["message"]["seq"] == 2, reply
    assert phone.next_event(topic, "ticket.message_added")["data"] == reply["data"]["message"]
    assert phone.next_event(topic, "ticket.updated")["data"]["status"] == "pending_customer"

    assert desk.request("command", topic=topic, name="typing", data={"state": "start"})["status"] == "ok"
    typing = phone.next_event(topic, "ticket.typing")
    assert typing["data"]["side"] == "staff" and typing.get("ephemeral") is True

    note = desk.request("command", topic=topic, name="send", data={"text": 42})
    assert note["error"]["code"] == "invalid"
    services.note_add(user=staff, ticket_id=ticket.pk, text="VIP customer")
    assert desk.next_event("support_queue:all", "ticket.note_added")["data"]["text"] == "VIP customer"
    assert no_event(phone, topic)  # the requester's socket gets nothing of it
