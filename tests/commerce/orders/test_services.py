"""Order pipeline: the transitions map, who may move an order, audit rows, live events to the
buyer's ``user:`` and the store's ``vendor:`` topics, cancellation side effects, and store
isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.catalog.models import Product
from commerce.orders import permissions as order_permissions
from commerce.orders import selectors as order_selectors
from commerce.orders import services as order_services
from commerce.orders.models import ORDER_TRANSITIONS, OrderStatus
from commerce.payments import services as payments
from core.exceptions import Conflict, Forbidden, NotFound
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.delivery import deliver, open_delivery_of, picked_up
from tests.factories.orders import buyer_with_cart, checkout_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order():
    product = ProductFactory(vendor=VendorFactory(name="Alpha"), category=CategoryFactory(), price="20.00", stock=4)
    buyer = buyer_with_cart({product: 2})
    checkout = checkout_for(buyer=buyer)
    order = checkout.orders.get()
    payments.payment_create(user=buyer, order_id=order.id, method="card", card_token="tok_visa")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def test_map_is_the_documented_pipeline():
    S = OrderStatus
    assert ORDER_TRANSITIONS[S.PENDING_PAYMENT] == {S.PAID, S.CANCELLED}
    assert ORDER_TRANSITIONS[S.OUT_FOR_DELIVERY] == {S.DELIVERED, S.DELIVERY_FAILED}
    assert ORDER_TRANSITIONS[S.DELIVERY_FAILED] == {S.READY_FOR_PICKUP, S.CANCELLED, S.REFUNDED}
    assert {S.OUT_FOR_DELIVERY, S.DELIVERED, S.DELIVERY_FAILED} <= order_permissions.SYSTEM_ONLY
    assert ORDER_TRANSITIONS[S.CANCELLED] == set() and ORDER_TRANSITIONS[S.REFUNDED] == set()


def test_order_goes_through_the_pipeline_with_audit_and_events(paid_order):
    """The store moves it to processing and ready_for_pickup; the courier's pickup and the
    buyer's PIN move it on (the delivery flow owns out_for_delivery and delivered)."""
    owner = paid_order.vendor.owner
    for status in ("processing", "ready_for_pickup"):
        order_services.order_transition(user=owner, order_id=paid_order.id, to_status=status)
    delivery, carrier = picked_up(open_delivery_of(paid_order))
    deliver(delivery, carrier)
    paid_order.refresh_from_db()
    assert paid_order.status == "delivered" and paid_order.delivered_at is not None
    trail = list(paid_order.status_changes.values_list("from_status", "to_status", "reason"))
    assert trail == [("", "pending_payment", "checkout"), ("pending_payment", "paid", "payment_succeeded"),
                     ("paid", "processing", ""), ("processing", "ready_for_pickup", ""),
                     ("ready_for_pickup", "out_for_delivery", "picked_up"), ("out_for_delivery", "delivered", "pin")]
    actors = list(paid_order.status_changes.values_list("actor", flat=True))
    assert actors[2:] == [owner.pk, owner.pk, carrier.pk, carrier.pk]
    buyer_events = [e.data["to"] for e in OutboxEvent.objects.filter(topic=f"user:{paid_order.buyer_id}",
                                                                        type="order.status_changed").order_by("id")]
    vendor_events = [e.data["to"] for e in OutboxEvent.objects.filter(topic=f"vendor:{paid_order.vendor_id}",
                                                                         type="order.status_changed").order_by("id")]
    assert buyer_events == vendor_events == ["paid", "processing", "ready_for_pickup", "out_for_delivery", "delivered"]
    created = OutboxEvent.objects.get(topic=f"vendor:{paid_order.vendor_id}", type="order.created")
    assert created.data["order"]["id"] == str(paid_order.id) and created.data["order"]["status"] == "paid"
    assert Notification.objects.filter(recipient=paid_order.buyer, kind="order.status_changed").count() == 5
    assert Notification.objects.filter(recipient=owner, kind="order.received").count() == 1


@pytest.mark.parametrize("target", ["delivered", "out_for_delivery", "pending_payment", "bogus"])
def test_illegal_transitions_are_refused_with_409_and_change_nothing(paid_order, target):
    with pytest.raises(Conflict) as exc:
        order_services.order_transition(user=paid_order.vendor.owner, order_id=paid_order.id, to_status=target)
    assert exc.value.code == "invalid_transition" and exc.value.status == 409
    paid_order.refresh_from_db()
    assert paid_order.status == "paid" and paid_order.status_changes.count() == 2


def test_the_buyer_cannot_ship_and_the_vendor_cannot_mark_paid(paid_order):
    with pytest.raises(Forbidden) as exc:
        order_services.order_transition(user=paid_order.buyer, order_id=paid_order.id, to_status="processing")
    assert exc.value.code == "transition_not_allowed"
    with pytest.raises(Forbidden):  # legal in the map, but only a refund makes it
        order_services.order_transition(user=paid_order.vendor.owner, order_id=paid_order.id, to_status="refunded")
    product = ProductFactory(stock=3)
    buyer = buyer_with_cart({product: 1})
    order = checkout_for(buyer=buyer).orders.get()
    with pytest.raises(Forbidden):
        order_services.order_transition(user=order.vendor.owner, order_id=order.id, to_status="paid")


def test_another_store_can_neither_see_nor_change_the_order(paid_order):
    stranger_vendor = VendorFactory()
    outsider = stranger_vendor.owner
    with pytest.raises(NotFound) as exc:
        order_services.order_transition(user=outsider, order_id=paid_order.id, to_status="processing")
    assert exc.value.code == "order_not_found"
    with pytest.raises(NotFound):
        order_selectors.order_get_visible(user=outsider, order_id=paid_order.id)
    assert list(order_selectors.orders_for_vendor_staff(user=outsider)) == []
    assert list(order_selectors.orders_for_vendor_staff(user=outsider, vendor_id=paid_order.vendor_id)) == []
    staff = VendorStaffFactory(vendor=paid_order.vendor).user
    assert [o.id for o in order_selectors.orders_for_vendor_staff(user=staff)] == [paid_order.id]
    paid_order.refresh_from_db()
    assert paid_order.status == "paid"


def test_admin_may_make_any_allowed_move(paid_order):
    admin = AdminFactory()
    assert order_permissions.order_moves_for(admin, paid_order) == ["cancelled", "processing"]
    order_services.order_transition(user=admin, order_id=paid_order.id, to_status="processing")


def test_buyer_cancels_a_paid_order_stock_returns_and_payment_is_refunded(paid_order):
    product = Product.objects.get(pk=paid_order.lines.get().product_id)
    assert product.stock == 2
    order_services.order_transition(user=paid_order.buyer, order_id=paid_order.id, to_status="cancelled", reason="changed my mind")
    paid_order.refresh_from_db()
    product.refresh_from_db()
    assert (paid_order.status, paid_order.cancel_reason, paid_order.refunded_total) == ("cancelled", "changed my mind", Decimal("40.00"))
    assert product.stock == 4
    payment = paid_order.payments.get(status="succeeded")
    assert payment.refunded_amount == Decimal("40.00") and payment.refunds.count() == 1
    assert paid_order.escrow.status == "refunded"


def test_buyer_cannot_cancel_once_processing(paid_order):
    order_services.order_transition(user=paid_order.vendor.owner, order_id=paid_order.id, to_status="processing")
    with pytest.raises(Forbidden):
        order_services.order_transition(user=paid_order.buyer, order_id=paid_order.id, to_status="cancelled")


def test_cancelling_a_pending_order_releases_its_reservation():
    product = ProductFactory(stock=3)
    buyer = buyer_with_cart({product: 3})
    order = checkout_for(buyer=buyer).orders.get()
    assert Product.objects.get(pk=product.pk).stock == 0
    order_services.order_transition(user=buyer, order_id=order.id, to_status="cancelled")
    assert Product.objects.get(pk=product.pk).stock == 3
    assert order.reservations.get().status == "released"


def test_unknown_and_malformed_ids_are_404():
    user = UserFactory()
    for bad in ("nope", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            order_services.order_transition(user=user, order_id=bad, to_status="cancelled")
