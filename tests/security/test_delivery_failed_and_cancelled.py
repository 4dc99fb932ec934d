"""Issue 13, table rows 5 and 6: failed and cancelled deliveries must resolve.

Row 5: a courier marked a delivery ``failed``; the order stayed ``out_for_delivery``, from which
only ``delivered`` was allowed: neither refundable in full nor sendable again, the buyer's money
held. Row 6: a store cancelled an order after a courier claimed it; refund and restock happened,
but the delivery stayed ``assigned`` and kept one of the courier's 5 slots."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.catalog.models import Product
from commerce.orders.models import Order
from delivery import services
from delivery.models import Delivery
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.delivery import courier, picked_up, ready_delivery

pytestmark = pytest.mark.django_db


def fail(d, carrier, reason="Nobody home, building locked"):
    r = client_for(carrier).post(f"/api/v1/deliveries/{d.pk}/status/", {"status": "failed", "reason": reason},
                                 format="json")
    assert r.status_code == 200, r.content
    return Order.objects.get(pk=d.order_id)


def test_row5_a_failed_delivery_moves_the_order_to_delivery_failed_and_the_store_resends_it():
    """Row 5: failure → `delivery_failed`; the store re-dispatches (a new attempt with a new
    PIN that another courier claims and completes), the first attempt stays as history."""
    d, first = picked_up(ready_delivery(price="30.00"))
    order = fail(d, first)
    assert order.status == "delivery_failed"
    store = client_for(order.vendor.owner)
    assert store.get(f"/api/v1/orders/{order.pk}/").json()["allowed_transitions"] == ["cancelled", "ready_for_pickup"]
    r = store.post(f"/api/v1/orders/{order.pk}/status/", {"status": "ready_for_pickup"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "ready_for_pickup"
    again = Delivery.objects.get(order=order, status="pending")
    assert again.attempt == 2 and again.pk != d.pk
    second = courier()
    assert client_for(second).post(f"/api/v1/deliveries/{again.pk}/claim/").status_code == 200
    services.delivery_set_status(courier=second, delivery_id=again.pk, status="picked_up")
    services.delivery_complete(courier=second, delivery_id=again.pk, pin=again.pin)
    assert Order.objects.get(pk=order.pk).status == "delivered"
    assert list(Delivery.objects.filter(order=order).order_by("attempt").values_list("attempt", "status")) == [
        (1, "failed"), (2, "delivered")]


def test_row5_after_a_failed_delivery_the_store_cancels_with_a_full_refund_and_restock():
    """Row 5: from `delivery_failed` the order can be cancelled: full refund from escrow, the
    stock back, the buyer's money no longer held."""
    d, carrier = picked_up(ready_delivery(price="30.00", method="wallet"))
    product = Product.objects.get(pk=d.order.lines.get().product_id)
    stock_before = product.stock
    order = fail(d, carrier)
    r = client_for(order.vendor.owner).post(f"/api/v1/orders/{order.pk}/cancel/", {"reason": "undeliverable"},
                                            format="json", HTTP_IDEMPOTENCY_KEY="cancel-after-failure")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["refunded_total"] == "30.00"
    order.refresh_from_db()
    assert order.escrow.status == "refunded" and order.escrow.amount == Decimal("0.00")
    assert Product.objects.get(pk=product.pk).stock == stock_before + 1
    assert order.buyer.wallets.get().balance == Decimal("30.00")


def test_row6_cancelling_a_claimed_order_cancels_its_delivery_and_frees_the_courier_slot():
    """Row 6: the delivery becomes `cancelled`, the courier's slot is free again (a sixth claim
    succeeds), and courier and buyer are told on their topics and by notification."""
    carrier = courier()
    claimed = []
    for _ in range(5):
        d = ready_delivery(price="12.00")
        services.delivery_claim(courier=carrier, delivery_id=d.pk)
        claimed.append(d)
    victim = claimed[0]
    r = client_for(victim.order.vendor.owner).post(f"/api/v1/orders/{victim.order_id}/cancel/", {"reason": "out of stock"},
                                                   format="json", HTTP_IDEMPOTENCY_KEY="cancel-claimed")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    victim.refresh_from_db()
    assert victim.status == "cancelled" and victim.cancel_reason == "out of stock"
    services.delivery_claim(courier=carrier, delivery_id=ready_delivery().pk)  # the freed slot
    status = OutboxEvent.objects.get(topic=f"delivery:{victim.pk}", type="delivery.status_changed", data__to="cancelled")
    assert status.data["tracking_ended"] is True
    for user_id in (carrier.pk, victim.order.buyer_id):
        ev = OutboxEvent.objects.get(topic=f"user:{user_id}", type="delivery.cancelled")
        assert ev.data["id"] == str(victim.pk) and ev.data["order_id"] == str(victim.order_id)
    assert Notification.objects.filter(recipient=carrier, kind="delivery.cancelled").count() == 1
    assert Notification.objects.filter(recipient=victim.order.buyer, kind="order.status_changed",
                                       data__status="cancelled").count() == 1
