"""Returns are live, in the style of Zulip's event tests: the buyer's app (its ``user:`` topic)
and the store's desk (its ``vendor:`` topic), each keeping the returns it shows
(``GET /api/v1/returns/``, by id, each as ``commerce.returns.selectors.return_data``) and
applying the ``return.*`` events, keep exactly what a fresh load shows through a return by
courier from request to refund, a rejected return escalated to staff, and a cancelled one.

The reducer: every ``return.*`` event replaces the return it carries (they carry it whole);
other events of the topics are not about returns. Everything is compared.
"""

from __future__ import annotations

import pytest

from commerce.orders.events import VENDOR_TOPIC
from commerce.returns import services as returns
from commerce.returns.models import ReturnRequest
from commerce.returns.selectors import return_data, return_queryset
from delivery import services as deliveries
from delivery.models import Delivery
from realtime.user_topic import USER_TOPIC
from tests.factories.delivery import courier as a_courier
from tests.factories.returns import all_lines, delivered_order_of, requested
from tests.realtime.replay import Client, wire

pytestmark = pytest.mark.django_db


def reduce_returns(state: dict, type_: str, data: dict) -> dict:
    """What a client does with an event of its ``user:`` / ``vendor:`` topic, for returns."""
    if type_.startswith("return."):
        state[data["return"]["id"]] = data["return"]
    return state


def returns_of(**filters) -> dict:
    return wire({str(r.pk): return_data(r) for r in return_queryset().filter(**filters)})


def test_the_buyer_and_the_store_keep_exactly_their_returns_from_the_events():
    order = delivered_order_of([("20.00", 2), ("5.00", 1)], method="wallet")
    buyer, owner = order.buyer, order.vendor.owner
    app = Client(user=buyer, topic=USER_TOPIC.name(buyer.pk), reduce=reduce_returns,
                 fetch=lambda: returns_of(order__buyer=buyer))
    desk = Client(user=owner, topic=VENDOR_TOPIC.name(order.vendor_id), reduce=reduce_returns,
                  fetch=lambda: returns_of(order__vendor=order.vendor_id))

    def sync(*types):
        app.sync(*types)
        desk.sync(*types)

    first, second = all_lines(order)
    rma = requested(order, lines=[first], reason="damaged")
    sync("return.requested")
    returns.return_approve(user=owner, return_id=rma.pk, note="Send it back.")
    sync("return.status_changed")
    returns.return_ship(user=buyer, return_id=rma.pk, transport="courier")
    sync("return.updated")
    delivery = Delivery.objects.get(return_request=rma)
    courier = a_courier()
    deliveries.delivery_claim(courier=courier, delivery_id=delivery.pk)
    deliveries.delivery_set_status(courier=courier, delivery_id=delivery.pk, status="picked_up")
    sync("return.status_changed")
    delivery.refresh_from_db()
    deliveries.delivery_complete(courier=courier, delivery_id=delivery.pk, pin=delivery.pin)
    sync("return.status_changed")
    line = ReturnRequest.objects.get(pk=rma.pk).lines.get()
    returns.return_inspect(user=owner, return_id=rma.pk, grades=[{"id": line.pk, "grade": "opened"}])
    sync("return.status_changed")
    returns.return_refund(user=owner, return_id=rma.pk)
    sync("return.status_changed")
    assert app.state[str(rma.pk)]["status"] == "refunded"

    third = requested(order, lines=[second], reason="changed_mind")
    sync("return.requested")
    returns.return_cancel(user=buyer, return_id=third.pk)
    sync("return.status_changed")
    other = requested(order, lines=[second], reason="changed_mind")
    sync("return.requested")
    returns.return_reject(user=owner, return_id=other.pk, reason="Opened food cannot come back.")
    sync("return.status_changed")
    returns.return_escalate(user=buyer, return_id=other.pk, description="It was sealed.")
    sync("return.updated")
    assert app.state[str(other.pk)]["escalation"]["dispute_id"]

    assert [t for t in app.applied if t.startswith("return.")] == [t for t in desk.applied if t.startswith("return.")]
