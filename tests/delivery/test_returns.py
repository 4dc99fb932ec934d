"""Returns by courier over the real delivery path: the buyer asks for a courier, the delivery app
creates a return delivery (pickup at the buyer's, drop-off at the store's pickup point) that
couriers see with only the buyer's grid cell until they claim it; the pickup puts the return in
transit, the store's PIN at the store receives it (the order does not move); a failure before
the pickup lets the buyer choose again, one after it leaves the receipt to the store; cancelling
the return or switching to a carrier cancels the delivery and frees the courier."""

from __future__ import annotations

import pytest
from django.utils import timezone

from commerce.orders.models import Order
from commerce.returns import services as returns
from commerce.returns.models import ReturnRequest
from commerce.returns.signals import return_pickup_requested
from core.exceptions import Conflict
from delivery import services
from delivery.models import Delivery
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorStaffFactory
from tests.factories.delivery import DROP, PICK, courier, point
from tests.factories.returns import approved, delivered_order_of

pytestmark = pytest.mark.django_db


def by_courier(order, **kw):
    """An approved return of ``order`` the buyer sends with a courier (over REST); its delivery."""
    rma = approved(order, **kw)
    r = client_for(order.buyer).post(f"/api/v1/returns/{rma.pk}/ship/", {"transport": "courier"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["transport"]) == ("approved", "courier")
    return ReturnRequest.objects.get(pk=rma.pk), Delivery.objects.get(pk=body["pickup_delivery_id"])


def test_a_return_travels_with_a_courier_and_the_stores_pin_receives_it():
    order = delivered_order_of([("25.00", 1)], method="card")
    clerk = VendorStaffFactory(vendor=order.vendor).user
    rma, delivery = by_courier(order, reason="wrong_item")
    assert (delivery.kind, delivery.return_request_id, delivery.status, delivery.attempt) == ("return", rma.pk,
                                                                                              "pending", 1)
    assert (delivery.pickup_lat, delivery.dropoff_lat) == (DROP[0], PICK[0])  # buyer -> store
    # the ship call again is idempotent while the courier is on it
    again = client_for(order.buyer).post(f"/api/v1/returns/{rma.pk}/ship/", {"transport": "courier"}, format="json")
    assert again.json()["pickup_delivery_id"] == str(delivery.pk) and Delivery.objects.filter(kind="return").count() == 1

    carrier = courier()
    couriers = client_for(carrier)
    listed = [d for d in couriers.get(f"/api/v1/deliveries/?open=1&lat={PICK[0]}&lon={PICK[1]}").json()
              if d["id"] == str(delivery.pk)]
    assert len(listed) == 1
    open_view = listed[0]
    assert open_view["kind"] == "return" and open_view["pickup_area"]["cell_m"] == 1000
    assert (open_view["pickup"]["lat"], open_view["pickup"]["lon"]) != DROP  # never the buyer's exact point
    assert (open_view["dropoff_area"]["lat"], open_view["dropoff_area"]["cell_m"]) == (PICK[0], 0)
    assert "pin" not in open_view and "qr_token" not in open_view

    assert couriers.post(f"/api/v1/deliveries/{delivery.pk}/claim/").status_code == 200
    r = couriers.post(f"/api/v1/deliveries/{delivery.pk}/status/", {"status": "picked_up"}, format="json")
    assert r.status_code == 200, r.content
    rma.refresh_from_db()
    assert (rma.status, rma.pickup_delivery_open) == ("in_transit", True)
    assert Order.objects.get(pk=order.pk).status == "delivered"  # the order does not move
    refused = client_for(order.vendor.owner).post(f"/api/v1/returns/{rma.pk}/receive/")
    assert refused.status_code == 409 and refused.json()["code"] == "return_delivery_open"

    # the PIN is the store's: its staff see it, the buyer (the sender) does not
    assert "pin" not in client_for(order.buyer).get(f"/api/v1/deliveries/{delivery.pk}/").json()
    pin = client_for(clerk).get(f"/api/v1/deliveries/{delivery.pk}/").json()["pin"]
    assert pin == delivery.pin
    services.delivery_ingest_locations(courier=carrier, delivery_id=delivery.pk,
                                       points=[point(timezone.now(), PICK[0] + 0.001, PICK[1])])
    assert Delivery.objects.get(pk=delivery.pk).status == "arriving"
    assert Notification.objects.filter(recipient=clerk, kind="delivery.arriving").count() == 1
    assert not Notification.objects.filter(recipient=order.buyer, kind="delivery.arriving").exists()

    wrong = couriers.post(f"/api/v1/deliveries/{delivery.pk}/complete/", {"pin": "0000" if pin != "0000" else "1111"},
                          format="json")
    assert wrong.status_code == 409 and wrong.json()["code"] == "wrong_pin"
    done = couriers.post(f"/api/v1/deliveries/{delivery.pk}/complete/", {"pin": pin}, format="json")
    assert done.status_code == 200, done.content
    rma.refresh_from_db()
    assert (rma.status, rma.pickup_delivery_open) == ("received", False) and rma.received_at is not None
    assert Order.objects.get(pk=order.pk).status == "delivered"
    moves = [(e.data["from"], e.data["to"]) for e in OutboxEvent.objects.filter(
        topic=f"vendor:{order.vendor_id}", type="return.status_changed").order_by("id")]
    assert moves == [("requested", "approved"), ("approved", "in_transit"), ("in_transit", "received")]

    # and on to the refund: the whole order back (wrong item), at the card's gateway
    inspected = returns.return_inspect(user=clerk, return_id=rma.pk,
                                       grades=[{"id": line.pk, "grade": "as_new"} for line in rma.lines.all()])
    assert returns.return_refund(user=clerk, return_id=inspected.pk).status == "refunded"
    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert Delivery.objects.get(pk=delivery.pk).status == "delivered"  # refunding the order cancels nothing done


def test_a_failure_before_the_pickup_lets_the_buyer_choose_again():
    order = delivered_order_of([("9.00", 1)])
    rma, first = by_courier(order)
    carrier = courier()
    services.delivery_claim(courier=carrier, delivery_id=first.pk)
    services.delivery_set_status(courier=carrier, delivery_id=first.pk, status="failed", reason="Nobody at home.")
    rma.refresh_from_db()
    assert (rma.status, rma.transport, rma.pickup_delivery_open) == ("approved", "", False)
    assert Notification.objects.filter(recipient=order.buyer, kind="return.updated",
                                       title__contains="could not collect").count() == 1
    assert Order.objects.get(pk=order.pk).status == "delivered"
    rma, second = by_courier_again(order, rma)
    assert (second.attempt, second.status) == (2, "pending") and second.pk != first.pk


def by_courier_again(order, rma):
    r = client_for(order.buyer).post(f"/api/v1/returns/{rma.pk}/ship/", {"transport": "courier"}, format="json")
    assert r.status_code == 200
    return ReturnRequest.objects.get(pk=rma.pk), Delivery.objects.get(pk=r.json()["pickup_delivery_id"])


def test_a_failure_after_the_pickup_leaves_the_receipt_to_the_store():
    order = delivered_order_of([("9.00", 1)])
    rma, delivery = by_courier(order)
    carrier = courier()
    services.delivery_claim(courier=carrier, delivery_id=delivery.pk)
    services.delivery_set_status(courier=carrier, delivery_id=delivery.pk, status="picked_up")
    services.delivery_set_status(courier=carrier, delivery_id=delivery.pk, status="failed", reason="Shop closed.")
    rma.refresh_from_db()
    assert (rma.status, rma.pickup_delivery_open) == ("in_transit", False)
    assert Notification.objects.filter(recipient=order.vendor.owner, title__contains="courier delivery failed").exists()
    assert returns.return_receive(user=order.vendor.owner, return_id=rma.pk).status == "received"


def test_cancelling_the_return_or_switching_to_a_carrier_cancels_the_courier_pickup():
    order = delivered_order_of([("9.00", 1)])
    rma, delivery = by_courier(order)
    carrier = courier()
    services.delivery_claim(courier=carrier, delivery_id=delivery.pk)
    returns.return_cancel(user=order.buyer, return_id=rma.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.cancel_reason) == ("cancelled", "return_cancelled")
    assert Notification.objects.filter(recipient=carrier, kind="delivery.cancelled").count() == 1
    assert OutboxEvent.objects.filter(topic=f"user:{carrier.pk}", type="delivery.cancelled").count() == 1

    other = delivered_order_of([("9.00", 1)])
    rma, delivery = by_courier(other)
    r = client_for(other.buyer).post(f"/api/v1/returns/{rma.pk}/ship/",
                                     {"transport": "carrier", "carrier": "GLS", "tracking_number": "ZX81"}, format="json")
    assert r.json()["status"] == "in_transit" and r.json()["transport"] == "carrier"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.cancel_reason) == ("cancelled", "carrier_chosen")


def test_the_store_does_not_carry_a_return_itself_and_courier_mode_needs_the_delivery_app():
    order = delivered_order_of([("9.00", 1)])
    rma, delivery = by_courier(order)
    r = client_for(order.vendor.owner).post(f"/api/v1/deliveries/{delivery.pk}/self-deliver/")
    assert r.status_code == 403 and r.json()["code"] == "not_store_staff"
    other = approved(delivered_order_of([("9.00", 1)]))
    return_pickup_requested.disconnect(dispatch_uid="delivery.return_pickup")
    try:
        with pytest.raises(Conflict) as exc:
            returns.return_ship(user=other.order.buyer, return_id=other.pk, transport="courier")
        assert exc.value.code == "courier_unavailable"
    finally:
        return_pickup_requested.connect(services.on_return_pickup_requested, dispatch_uid="delivery.return_pickup")
    assert ReturnRequest.objects.get(pk=other.pk).transport == ""
