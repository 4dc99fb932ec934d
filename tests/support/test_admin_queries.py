"""The admin pages of tickets render for staff (thread and internal notes, read-only), and the
writes of a ticket and of a product page cost a constant number of queries: the socket ``send``
of a ticket whatever the thread's length, and a stock change's ``product:`` publishing whatever
the number of products changed at once (counts printed with ``-s``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce.catalog.services import products_adjust_stock
from realtime.registry import get_topic
from support import services
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.support import agent, open_ticket

pytestmark = pytest.mark.django_db


def test_admin_lists_and_shows_tickets_with_notes_to_staff(client):
    ticket = open_ticket(subject="Card charged twice")
    staff = agent()
    services.note_add(user=staff, ticket_id=ticket.pk, text="Gateway retried the capture.")
    client.force_login(AdminFactory(is_staff=True, is_superuser=True))
    listing = client.get("/admin/support/ticket/?status__exact=open")
    assert listing.status_code == 200 and b"Card charged twice" in listing.content
    page = client.get(f"/admin/support/ticket/{ticket.pk}/change/")
    assert page.status_code == 200 and b"Gateway retried the capture." in page.content
    assert client.get("/admin/support/ticket/add/").status_code == 403  # tickets are opened by their requesters


def socket_send(ticket, user, text: str, capture) -> int:
    topic = get_topic("ticket")
    fn, _bucket = topic.commands["send"]
    with CaptureQueriesContext(connection) as ctx, capture(execute=True):
        assert topic.authorize(user=user, key=str(ticket.pk))
        assert fn(user=user, key=str(ticket.pk), data={"text": text})["created"] is True
    return len(ctx.captured_queries)


def test_ticket_send_queries_do_not_grow_with_the_thread(django_capture_on_commit_callbacks):
    buyer, staff = UserFactory(), agent()
    ticket = open_ticket(requester=buyer)
    socket_send(ticket, staff, "first answer", django_capture_on_commit_callbacks)  # the first response notifies
    early = [socket_send(ticket, buyer if i % 2 else staff, f"m{i}", django_capture_on_commit_callbacks) for i in range(4)]
    for i in range(60):
        services.message_send(user=buyer, ticket_id=ticket.pk, text=f"filler {i}")
    late = [socket_send(ticket, buyer if i % 2 else staff, f"n{i}", django_capture_on_commit_callbacks) for i in range(4)]
    print(f"\nticket send (socket, after commit included): early {early}, after 60 more messages {late}")
    assert late == early


def test_product_page_publishing_is_constant_in_the_number_of_products(django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    counts = {}
    for n in (1, 10):
        products = [ProductFactory(vendor=vendor) for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
            products_adjust_stock(changes={p.pk: -1 for p in products}, reason="order")
        counts[n] = len(ctx.captured_queries)
    print(f"\nproducts_adjust_stock with product: pages (after commit included): {counts}")
    assert counts[1] == counts[10]
