"""Support tickets over REST: who sees and works a ticket (the requester, support agents,
nobody else; every endpoint tried by the wrong actor), internal notes never reaching the
requester, the status map with replies moving it, reopening within 7 days, SLA flagging and
the notifications, links to the requester's own orders and deliveries only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from notifications.models import Notification
from realtime.models import OutboxEvent
from support import services
from support.models import Ticket
from support.realtime import SupportQueueTopic, TicketTopic
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory
from tests.factories.core import UserFactory
from tests.factories.delivery import courier as make_courier
from tests.factories.delivery import picked_up, ready_delivery
from tests.factories.orders import paid_order
from tests.factories.returns import delivered_order_of, requested
from tests.factories.support import agent, open_ticket

pytestmark = pytest.mark.django_db

API = "/api/v1/support"


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, "PNG")
    return SimpleUploadedFile("shot.png", buffer.getvalue(), content_type="image/png")


def test_a_buyer_opens_a_ticket_and_an_agent_answers_it():
    buyer, staff = UserFactory(), agent()
    order = paid_order(buyer=buyer)
    response = client_for(buyer).post(f"{API}/tickets/", {
        "category": "order", "priority": "high", "subject": "Wrong part", "text": "I got a filter instead of a pump.",
        "order_id": str(order.pk)}, format="json")
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert (ticket["status"], ticket["last_seq"], ticket["links"]["order_id"]) == ("open", 1, str(order.pk))
    assert ticket["requester"] == {"id": str(buyer.pk), "name": buyer.display_name or "", "role": "buyer"}

    queue = client_for(staff).get(f"{API}/queue/?view=unassigned").json()["results"]
    assert [t["id"] for t in queue] == [ticket["id"]]
    reply = client_for(staff).post(f"{API}/tickets/{ticket['id']}/messages/", {"text": "Sorry! Sending the pump."},
                                   format="json")
    assert reply.status_code == 201 and reply.json()["message"]["seq"] == 2
    assert reply.json()["message"]["sender"]["side"] == "staff"
    detail = client_for(buyer).get(f"{API}/tickets/{ticket['id']}/").json()
    assert detail["status"] == "pending_customer" and detail["first_response_at"] is not None
    assert Notification.objects.filter(recipient=buyer, kind="support.reply").count() == 1

    client_for(buyer).post(f"{API}/tickets/{ticket['id']}/messages/", {"text": "Thanks, when?"}, format="json")
    assert client_for(buyer).get(f"{API}/tickets/{ticket['id']}/").json()["status"] == "pending_staff"
    history = client_for(buyer).get(f"{API}/tickets/{ticket['id']}/messages/?before=3").json()
    assert [m["seq"] for m in history["results"]] == [1, 2] and history["has_more_after"] is True


def test_nobody_but_the_requester_and_agents_reaches_a_ticket():
    buyer, staff, stranger = UserFactory(), agent(), UserFactory()
    ticket = open_ticket(requester=buyer)
    base = f"{API}/tickets/{ticket.pk}"
    stranger_client = client_for(stranger)
    calls = [
        ("get", f"{base}/", None), ("patch", f"{base}/", {"priority": "urgent"}),
        ("get", f"{base}/messages/", None), ("post", f"{base}/messages/", {"text": "hi"}),
        ("post", f"{base}/read/", {"up_to_seq": 1}), ("get", f"{base}/notes/", None),
        ("post", f"{base}/notes/", {"text": "psst"}), ("post", f"{base}/assign/", {"assignee_id": str(staff.pk)}),
        ("post", f"{base}/transition/", {"status": "resolved"}),
    ]
    for method, url, body in calls:
        response = getattr(stranger_client, method)(url, body, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "ticket_not_found"), (method, url)
    upload = stranger_client.post(f"{base}/attachments/", {"file": png()}, format="multipart")
    assert upload.status_code == 404
    assert stranger_client.get(f"{API}/tickets/").json()["results"] == []
    assert stranger_client.get(f"{API}/queue/").status_code == 403
    assert client_for(buyer).get(f"{API}/queue/").status_code == 403
    assert APIClient().get(f"{base}/").status_code == 401
    assert client_for(stranger).get(f"{API}/tickets/not-a-uuid/").status_code == 404
    # the socket topics
    assert not TicketTopic().authorize(user=stranger, key=str(ticket.pk))
    assert TicketTopic().authorize(user=buyer, key=str(ticket.pk)) and TicketTopic().authorize(user=staff, key=str(ticket.pk))
    assert not SupportQueueTopic().authorize(user=buyer, key="all")
    assert SupportQueueTopic().authorize(user=staff, key="all") and not SupportQueueTopic().authorize(user=staff, key="x")


def test_the_requester_never_sees_internal_notes_nor_works_the_ticket():
    buyer, staff = UserFactory(), agent()
    ticket = open_ticket(requester=buyer)
    base = f"{API}/tickets/{ticket.pk}"
    note = client_for(staff).post(f"{base}/notes/", {"text": "Customer had 3 refunds this month."}, format="json")
    assert note.status_code == 201
    assert [n["text"] for n in client_for(staff).get(f"{base}/notes/").json()] == ["Customer had 3 refunds this month."]

    buyer_client = client_for(buyer)
    for method, url, body in [("get", f"{base}/notes/", None), ("post", f"{base}/notes/", {"text": "x"}),
                              ("post", f"{base}/assign/", {"assignee_id": str(staff.pk)}),
                              ("patch", f"{base}/", {"priority": "urgent"})]:
        response = getattr(buyer_client, method)(url, body, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), (method, url)
    everything = str(buyer_client.get(f"{base}/").json()) + str(buyer_client.get(f"{base}/messages/").json())
    snapshot = TicketTopic().snapshot(user=buyer, key=str(ticket.pk))
    assert "notes" not in snapshot and "3 refunds" not in everything + str(snapshot)
    assert "3 refunds" in str(TicketTopic().snapshot(user=staff, key=str(ticket.pk))["notes"])
    # the note travelled on the staff queue only
    rows = OutboxEvent.objects.filter(type="ticket.note_added")
    assert [r.topic for r in rows] == ["support_queue:all"]
    assert not OutboxEvent.objects.filter(topic=f"ticket:{ticket.pk}", data__icontains="refunds").exists()
    # an agent who opened a ticket of their own is its requester there
    own = open_ticket(requester=staff)
    assert client_for(staff).get(f"{API}/tickets/{own.pk}/notes/").status_code == 403


def test_status_map_and_reopening_within_seven_days():
    buyer, staff = UserFactory(), agent()
    ticket = open_ticket(requester=buyer)
    base = f"{API}/tickets/{ticket.pk}"
    move = lambda who, to: client_for(who).post(f"{base}/transition/", {"status": to}, format="json")  # noqa: E731

    refused = move(buyer, "pending_customer")
    assert (refused.status_code, refused.json()["code"]) == (403, "transition_not_allowed")
    assert move(staff, "closed").json() == {
        "code": "invalid_transition", "detail": "A ticket cannot go from open to closed.", "from": "open", "to": "closed",
        "allowed": ["pending_customer", "pending_staff", "resolved"]}
    resolved = move(staff, "resolved")
    assert resolved.status_code == 200 and resolved.json()["reopen_until"] is not None
    assert Notification.objects.filter(recipient=buyer, kind="support.reply").exists()
    closed_thread = client_for(buyer).post(f"{base}/messages/", {"text": "still broken"}, format="json")
    assert (closed_thread.status_code, closed_thread.json()["code"]) == (409, "ticket_not_open")

    assert move(buyer, "open").json()["status"] == "open"  # reopened within the window
    assert move(staff, "resolved").status_code == 200
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=7, minutes=1))
    late = move(buyer, "open")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition" and late.json()["allowed"] == ["closed"]
    assert services.close_resolved_tickets() == 1
    assert client_for(buyer).get(f"{base}/").json()["status"] == "closed"
    assert move(buyer, "open").json()["allowed"] == []  # closed is final


def test_sla_flags_overdue_tickets_once_and_notifies_staff():
    staff, other_agent, buyer = agent(), agent(), UserFactory()
    urgent_ish = open_ticket(requester=buyer, priority="high")
    answered = open_ticket(requester=buyer, priority="high")
    services.message_send(user=staff, ticket_id=answered.pk, text="On it.")
    calm = open_ticket(requester=buyer, priority="low")
    later = timezone.now() + timedelta(hours=4, minutes=1)  # past the 4 h target of "high"

    assert services.flag_overdue_tickets(now=later) == 1
    assert services.flag_overdue_tickets(now=later) == 0  # flagged once
    urgent_ish.refresh_from_db()
    assert urgent_ish.sla_breached_at == later
    overdue = client_for(staff).get(f"{API}/queue/?overdue=true").json()["results"]
    assert [t["id"] for t in overdue] == [str(urgent_ish.pk)] and overdue[0]["overdue"] is True
    notified = set(Notification.objects.filter(kind="support.sla_breached").values_list("recipient_id", flat=True))
    assert {staff.pk, other_agent.pk} <= notified and buyer.pk not in notified  # unassigned: every agent
    assert OutboxEvent.objects.filter(topic="support_queue:all", type="ticket.updated",
                                      data__overdue=True, data__id=str(urgent_ish.pk)).exists()
    # answering ends "overdue"; the breach stays on record
    services.message_send(user=other_agent, ticket_id=urgent_ish.pk, text="Sorry for the wait.")
    answered_late = client_for(staff).get(f"{API}/tickets/{urgent_ish.pk}/").json()
    assert answered_late["overdue"] is False and answered_late["sla_breached_at"] is not None
    assert client_for(staff).get(f"{API}/queue/?overdue=true").json()["results"] == []
    # raising the priority of the calm one moves its due time; lowering it back clears nothing it had not got
    assert services.ticket_update(user=staff, ticket_id=calm.pk, priority="urgent").first_response_due_at == \
        calm.created_at + timedelta(hours=1)


def test_queue_order_views_and_assignment():
    staff, colleague, buyer = agent(), agent(), UserFactory()
    low = open_ticket(requester=buyer, priority="low")
    high = open_ticket(requester=buyer, priority="high")
    normal = open_ticket(requester=buyer)
    queue = [t["id"] for t in client_for(staff).get(f"{API}/queue/").json()["results"]]
    assert queue == [str(high.pk), str(normal.pk), str(low.pk)]
    response = client_for(staff).post(f"{API}/tickets/{low.pk}/assign/", {"assignee_id": str(colleague.pk)}, format="json")
    assert response.json()["assignee"]["id"] == str(colleague.pk)
    assert Notification.objects.filter(recipient=colleague, kind="support.assigned").count() == 1
    assert [t["id"] for t in client_for(colleague).get(f"{API}/queue/?view=mine").json()["results"]] == [str(low.pk)]
    not_agent = client_for(staff).post(f"{API}/tickets/{low.pk}/assign/", {"assignee_id": str(buyer.pk)}, format="json")
    assert (not_agent.status_code, not_agent.json()["code"]) == (400, "not_an_agent")


def test_links_are_only_to_the_requesters_own_orders_and_deliveries():
    buyer, other = UserFactory(), UserFactory()
    mine, theirs = paid_order(buyer=buyer), paid_order(buyer=other)
    response = client_for(buyer).post(f"{API}/tickets/", {"category": "order", "subject": "x", "text": "y",
                                                           "order_id": str(theirs.pk)}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "link_not_found")
    assert client_for(buyer).post(f"{API}/tickets/", {"category": "order", "subject": "x", "text": "y",
                                                      "order_id": str(mine.pk)}, format="json").status_code == 201
    # a store's staff speaks for their own store only
    vendor = VendorFactory()
    store_ticket = client_for(vendor.owner).post(f"{API}/tickets/", {"role": "store", "vendor_id": str(VendorFactory().pk),
                                                                     "category": "payment", "subject": "x", "text": "y"},
                                                 format="json")
    assert (store_ticket.status_code, store_ticket.json()["code"]) == (403, "not_store_staff")
    # a courier links the delivery they carry, not another
    rider, delivery = make_courier(), ready_delivery()
    picked_up(delivery, rider)
    as_courier = {"role": "courier", "category": "delivery", "subject": "Gate closed", "text": "Nobody home."}
    assert client_for(rider).post(f"{API}/tickets/", {**as_courier, "delivery_id": str(delivery.pk)},
                                  format="json").status_code == 201
    other_rider = make_courier()
    refused = client_for(other_rider).post(f"{API}/tickets/", {**as_courier, "delivery_id": str(delivery.pk)}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (404, "link_not_found")
    assert client_for(buyer).post(f"{API}/tickets/", as_courier, format="json").json()["code"] == "not_courier"


def test_a_ticket_links_a_return_of_the_requesters_own_only():
    """A buyer links their own return (and its order); a store's staff links a return of their
    store; another buyer, another store, a return of a different order than the one linked, and a
    courier are refused with ``link_not_found``. The link shows in the ticket and its events."""
    order = delivered_order_of([("15.00", 1)])
    rma = requested(order, reason="damaged")
    stranger, other_store = UserFactory(), VendorFactory()
    base = {"category": "return", "subject": "Refund?", "text": "Where is my refund?"}

    opened = client_for(order.buyer).post(f"{API}/tickets/", {**base, "order_id": str(order.pk), "return_id": str(rma.pk)},
                                          format="json")
    assert opened.status_code == 201, opened.content
    assert opened.json()["links"] == {"order_id": str(order.pk), "delivery_id": None, "return_id": str(rma.pk)}
    ticket = Ticket.objects.get(pk=opened.json()["id"])
    assert ticket.return_request_id == rma.pk
    queued = OutboxEvent.objects.filter(topic="support_queue:all", type="ticket.updated").last()
    assert queued.data["links"]["return_id"] == str(rma.pk)

    as_store = {**base, "role": "store", "vendor_id": str(order.vendor_id), "return_id": str(rma.pk)}
    assert client_for(order.vendor.owner).post(f"{API}/tickets/", as_store, format="json").status_code == 201

    def refused(user, body):
        response = client_for(user).post(f"{API}/tickets/", body, format="json")
        return response.status_code, response.json()["code"], list(response.json().get("fields", {}))

    assert refused(stranger, {**base, "return_id": str(rma.pk)}) == (404, "link_not_found", ["return_id"])
    assert refused(other_store.owner, {**as_store, "vendor_id": str(other_store.pk)}) == (
        404, "link_not_found", ["return_id"])
    elsewhere = paid_order(buyer=order.buyer)
    assert refused(order.buyer, {**base, "order_id": str(elsewhere.pk), "return_id": str(rma.pk)}) == (
        404, "link_not_found", ["return_id"])
    rider = make_courier()
    assert refused(rider, {**base, "role": "courier", "return_id": str(rma.pk)}) == (404, "link_not_found", ["return_id"])
    assert Ticket.objects.count() == 2


def test_attachments_and_idempotent_retries():
    buyer, staff = UserFactory(), agent()
    ticket = open_ticket(requester=buyer)
    base = f"{API}/tickets/{ticket.pk}"
    upload = client_for(buyer).post(f"{base}/attachments/", {"file": png()}, format="multipart")
    assert upload.status_code == 201
    attachment = upload.json()
    # not sent yet: the uploader's only
    assert client_for(staff).get(attachment["url"]).status_code == 404
    sent = client_for(buyer).post(f"{base}/messages/", {"text": "See photo", "client_msg_id": "m-1",
                                                        "attachment_id": attachment["id"]}, format="json")
    assert sent.status_code == 201 and sent.json()["message"]["attachment"]["id"] == attachment["id"]
    again = client_for(buyer).post(f"{base}/messages/", {"text": "See photo", "client_msg_id": "m-1"}, format="json")
    assert again.status_code == 200 and again.json()["message"]["seq"] == sent.json()["message"]["seq"]
    assert client_for(staff).get(attachment["url"]).status_code == 200
    assert client_for(UserFactory()).get(attachment["url"]).status_code == 404
    bad = client_for(buyer).post(f"{base}/attachments/", {"file": SimpleUploadedFile("x.png", b"not an image")},
                                 format="multipart")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_image")
