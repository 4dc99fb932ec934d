"""The ``vendor:`` topic (a store's order desk) in the style of Zulip's event tests: a staff
member's client that starts from the snapshot and applies the desk's events ends with exactly
a fresh snapshot, through the whole life of orders — placed at checkout, paid, processed,
dispatched, a failed delivery and a re-dispatch, delivered, disputed and refunded, expired,
cancelled by the store — and a suspension of the store. Everything in the snapshot is compared
(with at most 50 open orders, as the test keeps it).

The reducer a desk writes:

* ``order.placed``: one more order in ``counts`` (``pending_payment``);
* ``order.status_changed``: move one order between ``counts``; keep it in ``open_orders`` (the
  event's summary) while its status is open, newest first;
* ``order.created`` (a paid order, in full): nothing more to keep (its move to ``paid`` came first);
* ``order.refunded``: the refunded order's summary, if it is open;
* ``dispute.opened`` / ``dispute.resolved`` / ``dispute.withdrawn``: ``open_disputes`` ± 1;
* ``vendor.status_changed``: the ``vendor`` block;
* ``store.updated``: the store's ``name`` in the ``vendor`` block (the rest of the profile is
  the profile screen's);
* ``store.staff_changed``: not on the desk's snapshot (the staff screen uses it);
* ``escrow.updated``, ``dispute.statement``: not on the desk's snapshot (the order's and the
  dispute's screens use them).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.disputes import services as disputes
from commerce.orders import checkout as checkouts
from commerce.orders import services as orders
from commerce.payments import services as payments
from commerce.stores import staff
from commerce.stores.events import VENDOR_TOPIC
from commerce.stores.services import vendor_set_status, vendor_update_profile
from delivery import services as deliveries
from tests.factories.commerce import ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory
from tests.factories.delivery import courier, dispatch, open_delivery_of
from tests.factories.orders import buyer_with_cart, checkout_for
from tests.realtime.replay import Client

pytestmark = pytest.mark.django_db

OPEN = {"paid", "processing", "ready_for_pickup", "out_for_delivery", "delivery_failed"}


def _count(counts: dict, status: str, delta: int) -> None:
    counts[status] = counts.get(status, 0) + delta
    if counts[status] == 0:
        del counts[status]


def reduce_desk(state: dict, type_: str, data: dict) -> dict:
    """What a store's desk does with an event of its ``vendor:`` topic."""
    if type_ == "order.placed":
        _count(state["counts"], data["order"]["status"], 1)
    elif type_ == "order.status_changed":
        _count(state["counts"], data["from"], -1)
        _count(state["counts"], data["to"], 1)
        order = data["order"]
        rest = [o for o in state["open_orders"] if o["id"] != order["id"]]
        if data["to"] in OPEN:
            rest.append(order)
        state["open_orders"] = sorted(rest, key=lambda o: o["created_at"], reverse=True)[:50]
    elif type_ == "order.refunded":  # a refund changes the order (refunded_total, updated_at)
        order = data["order"]
        state["open_orders"] = [order if o["id"] == order["id"] else o for o in state["open_orders"]]
    elif type_ == "dispute.opened":
        state["open_disputes"] += 1
    elif type_ in ("dispute.resolved", "dispute.withdrawn"):
        state["open_disputes"] -= 1
    elif type_ == "vendor.status_changed":
        state["vendor"] = data["vendor"]
    elif type_ == "store.updated":
        state["vendor"] = {**state["vendor"], "name": data["vendor"]["name"], "status": data["vendor"]["status"]}
    else:
        # documents are a REST list of the store, not part of the desk's snapshot
        assert type_ in ("order.created", "escrow.updated", "dispute.statement", "store.staff_changed",
                         "invoice.issued", "credit_note.issued"), type_
    return state


def test_a_desk_applying_vendor_events_keeps_exactly_the_snapshot():
    vendor = VendorFactory()
    clerk = VendorStaffFactory(vendor=vendor, role="manager").user  # managers refund
    mug = ProductFactory(vendor=vendor, stock=20, price="12.00")
    desk = Client(user=clerk, topic=VENDOR_TOPIC.name(vendor.pk), reduce=reduce_desk)

    buyer = buyer_with_cart({mug: 2})
    order = checkout_for(buyer=buyer).orders.get()
    desk.sync("order.placed")
    payments.payment_create(user=buyer, order_id=order.pk, method="card", card_token="tok_visa")
    desk.sync("order.status_changed", "order.created")

    delivery = dispatch(order)  # processing, ready_for_pickup
    desk.sync("order.status_changed")
    rider = courier()
    deliveries.delivery_claim(courier=rider, delivery_id=delivery.pk)
    deliveries.delivery_set_status(courier=rider, delivery_id=delivery.pk, status="picked_up")
    desk.sync("order.status_changed")
    deliveries.delivery_set_status(courier=rider, delivery_id=delivery.pk, status="failed", reason="nobody home")
    desk.sync("order.status_changed")
    orders.order_transition(user=vendor.owner, order_id=order.pk, to_status="ready_for_pickup")  # re-dispatch
    desk.sync("order.status_changed")
    retry = open_delivery_of(order)
    deliveries.delivery_claim(courier=rider, delivery_id=retry.pk)
    deliveries.delivery_set_status(courier=rider, delivery_id=retry.pk, status="picked_up")
    deliveries.delivery_complete(courier=rider, delivery_id=retry.pk, pin=type(retry).objects.get(pk=retry.pk).pin)
    desk.sync("order.status_changed", "escrow.updated")

    dispute = disputes.dispute_open(user=buyer, order_id=order.pk, reason="damaged", description="The handle broke off.")
    desk.sync("dispute.opened", "escrow.updated")
    disputes.dispute_add_statement(user=vendor.owner, dispute_id=dispute.pk, text="Please send a photo.")
    desk.sync("dispute.statement")
    disputes.dispute_resolve(user=AdminFactory(), dispute_id=dispute.pk, resolution="refund", note="Photo shows damage.")
    desk.sync("dispute.resolved", "order.refunded", "order.status_changed")

    # an unpaid checkout expires; a paid order is cancelled by the store
    late = buyer_with_cart({mug: 1})
    late_checkout = checkout_for(buyer=late)
    desk.sync("order.placed")
    checkouts.checkout_expire(checkout_id=late_checkout.pk, now=timezone.now() + timedelta(hours=2))
    desk.sync("order.status_changed")
    other = buyer_with_cart({mug: 1})
    paid = checkout_for(buyer=other).orders.get()
    payments.payment_create(user=other, order_id=paid.pk, method="card", card_token="tok_visa")
    payments.refund_create(user=clerk, order_id=paid.pk, amount="5.00", reason="scratched")  # still open
    desk.sync("order.placed", "order.created", "order.refunded")
    orders.order_transition(user=clerk, order_id=paid.pk, to_status="cancelled", reason="out_of_stock")
    desk.sync("order.refunded", "order.status_changed")

    admin = AdminFactory()
    vendor_set_status(vendor_id=vendor.pk, status="suspended", actor=admin)
    desk.sync("vendor.status_changed")
    vendor_set_status(vendor_id=vendor.pk, status="active", actor=admin)
    desk.sync("vendor.status_changed")
    vendor_update_profile(vendor_id=vendor.pk, actor=vendor.owner, changes={"name": "Mugs & More"})
    desk.sync("store.updated")
    staff.store_staff_set_role(vendor_id=vendor.pk, user_id=clerk.pk, role="staff", actor=vendor.owner)
    desk.sync("store.staff_changed")
    assert desk.state["counts"] == {"refunded": 1, "cancelled": 2}
