"""The support topics in the style of Zulip's event tests: clients that start from the snapshot
and apply the events end with exactly a fresh snapshot — the requester's and an agent's view of
``ticket:<id>``, and an agent's ``support_queue:all`` — through opening, replies of both sides,
read receipts, typing, an internal note, assignment, priority, an SLA flag, resolving,
reopening and closing.

Reducers a client writes:

* ``ticket:`` — ``ticket.message_added``: append (keep the last 50), the sender has read up to
  it; ``ticket.read``: the reader's pointer, ``read_up_to`` of a side is its furthest reader;
  ``ticket.updated``: replace the ticket. An agent's client also applies ``ticket.note_added``
  of its ticket from the queue topic (notes never travel on ``ticket:``).
* ``support_queue:`` — ``ticket.updated``: drop the ticket, keep it again while it is active
  (open, pending_*), ordered by priority (urgent first), then ``created_at``, then id;
  ``ticket.note_added``: nothing in the queue.

Everything in the snapshots is compared.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from support import services
from support.events import QUEUE_KEY, SUPPORT_QUEUE_TOPIC, TICKET_TOPIC
from support.models import PRIORITY_RANK
from tests.factories.core import UserFactory
from tests.factories.support import agent, open_ticket
from tests.realtime.replay import Client

pytestmark = pytest.mark.django_db

ACTIVE = {"open", "pending_customer", "pending_staff"}


def _read(state: dict, user_id: str, side: str, seq: int) -> None:
    states = state["read_states"]
    mine = [r for r in states if r["user_id"] == user_id]
    if mine:
        mine[0]["last_read_seq"] = max(mine[0]["last_read_seq"], seq)
    else:
        states.append({"user_id": user_id, "side": side, "last_read_seq": seq})
        states.sort(key=lambda r: r["user_id"])
    state["read_up_to"][side] = max([r["last_read_seq"] for r in states if r["side"] == side] + [0])


def reduce_ticket(state: dict, type_: str, data: dict) -> dict:
    ticket_id = state["ticket"]["id"]
    if type_ == "ticket.message_added":
        state["messages"].append(data)
        if len(state["messages"]) > 50:
            del state["messages"][0]
            state["has_more"] = True
        _read(state, data["sender"]["id"], data["sender"]["side"], data["seq"])
    elif type_ == "ticket.read":
        _read(state, data["user_id"], data["side"], data["last_read_seq"])
    elif type_ == "ticket.updated":
        if data["id"] == ticket_id:
            state["ticket"] = data
    elif type_ == "ticket.note_added":
        if data["ticket_id"] == ticket_id:
            state["notes"].append(data)
    else:
        raise AssertionError(type_)
    return state


def reduce_queue(state: dict, type_: str, data: dict) -> dict:
    if type_ == "ticket.updated":
        tickets = [t for t in state["tickets"] if t["id"] != data["id"]]
        if data["status"] in ACTIVE:
            tickets.append(data)
        tickets.sort(key=lambda t: (PRIORITY_RANK[t["priority"]], t["created_at"], t["id"]))
        state["tickets"] = tickets
    else:
        assert type_ == "ticket.note_added", type_
    return state


def test_requester_agent_and_queue_keep_exactly_their_snapshots():
    buyer, staff, colleague = UserFactory(), agent(), agent()
    queue = Client(user=staff, topic=SUPPORT_QUEUE_TOPIC.name(QUEUE_KEY), reduce=reduce_queue)
    earlier = open_ticket(requester=UserFactory(), priority="low")
    queue.sync("ticket.updated")
    ticket = open_ticket(requester=buyer, subject="Refund missing", priority="normal")
    queue.sync("ticket.updated")
    topic = TICKET_TOPIC.name(ticket.pk)
    requester = Client(user=buyer, topic=topic, reduce=reduce_ticket)
    worker = Client(user=staff, topic=topic, also=[SUPPORT_QUEUE_TOPIC.name(QUEUE_KEY)], reduce=reduce_ticket)
    clients = [requester, worker, queue]

    def sync(*expected):
        seen = {t for client in clients for t in client.sync()}
        assert set(expected) <= seen, (expected, seen)

    services.message_send(user=staff, ticket_id=ticket.pk, text="Which order is it about?")
    sync("ticket.message_added", "ticket.updated")
    assert requester.state["ticket"]["status"] == "pending_customer"
    services.mark_read(user=buyer, ticket_id=ticket.pk, up_to_seq=2)
    sync("ticket.read")
    services.typing_signal(user=buyer, ticket_id=ticket.pk, state="start")  # ephemeral: no state
    sync()
    services.message_send(user=buyer, ticket_id=ticket.pk, text="Order 1042, paid by card.", client_msg_id="r-1")
    sync("ticket.message_added", "ticket.updated")
    services.note_add(user=staff, ticket_id=ticket.pk, text="Card refund stuck at the gateway.")
    sync("ticket.note_added")
    assert len(worker.state["notes"]) == 1 and "notes" not in requester.state
    services.ticket_assign(user=staff, ticket_id=ticket.pk, assignee_id=colleague.pk)
    sync("ticket.updated")
    services.ticket_update(user=colleague, ticket_id=earlier.pk, priority="urgent")  # reorders the queue
    sync("ticket.updated")
    assert [t["id"] for t in queue.state["tickets"]] == [str(earlier.pk), str(ticket.pk)]
    services.flag_overdue_tickets(now=timezone.now() + timedelta(hours=2))  # the urgent one is overdue
    sync("ticket.updated")
    assert queue.state["tickets"][0]["overdue"] is True

    for i in range(50):
        services.message_send(user=colleague if i % 2 else buyer, ticket_id=ticket.pk, text=f"message {i}")
    sync("ticket.message_added")
    assert requester.state["has_more"] is True
    services.mark_read(user=staff, ticket_id=ticket.pk, up_to_seq=10_000)
    sync("ticket.read")

    services.ticket_transition(user=colleague, ticket_id=ticket.pk, to_status="resolved")
    sync("ticket.updated")
    assert [t["id"] for t in queue.state["tickets"]] == [str(earlier.pk)]
    services.ticket_transition(user=buyer, ticket_id=ticket.pk, to_status="open")
    sync("ticket.updated")
    assert len(queue.state["tickets"]) == 2
    services.ticket_transition(user=staff, ticket_id=ticket.pk, to_status="resolved")
    services.ticket_transition(user=buyer, ticket_id=ticket.pk, to_status="closed")
    sync("ticket.updated")
    assert requester.state["ticket"]["status"] == "closed"
