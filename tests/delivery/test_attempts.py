"""Delivery attempts and who carries them: re-dispatch after a failure keeps the history,
store self-delivery needs the same PIN proof, cancellation from the order side, the one-open
attempt constraint, and the data-preserving migration from one delivery per order."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from commerce.orders import services as order_services
from commerce.orders.models import Order
from commerce.payments import services as payments
from core.exceptions import Conflict, Forbidden, NotFound
from delivery import services
from delivery.models import Delivery
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory
from tests.factories.delivery import courier, open_delivery_of, picked_up, ready_delivery


@pytest.mark.django_db
def test_redispatch_after_a_failure_keeps_every_attempt_with_its_own_proof():
    first, c1 = picked_up(ready_delivery())
    clerk = VendorStaffFactory(vendor=first.order.vendor).user
    services.delivery_set_status(courier=c1, delivery_id=first.pk, status="failed", reason="Address not found")
    order = Order.objects.get(pk=first.order_id)
    assert order.status == "delivery_failed"
    assert Notification.objects.filter(recipient=clerk, kind="delivery.status_changed").exists()  # the store acts
    vendor_events = [e.data["to"] for e in OutboxEvent.objects.filter(topic=f"vendor:{order.vendor_id}",
                                                                         type="order.status_changed").order_by("id")]
    assert vendor_events[-1] == "delivery_failed"
    order_services.order_transition(user=AdminFactory(), order_id=order.pk, to_status="ready_for_pickup")  # staff may too
    second = open_delivery_of(order)
    assert (second.attempt, second.status, second.courier_id) == (2, "pending", None)
    with pytest.raises(Conflict) as exc:  # the first attempt's QR is not proof for the second
        c2 = courier()
        services.delivery_claim(courier=c2, delivery_id=second.pk)
        services.delivery_set_status(courier=c2, delivery_id=second.pk, status="picked_up")
        services.delivery_complete(courier=c2, delivery_id=second.pk, qr=services.qr_token(first))
    assert exc.value.code == "invalid_qr"
    with pytest.raises(NotFound):  # the first courier has nothing to do with attempt 2
        services.delivery_set_status(courier=c1, delivery_id=second.pk, status="en_route")
    buyer = client_for(order.buyer)
    history = buyer.get(f"/api/v1/deliveries/?order={order.pk}").json()
    assert [(d["attempt"], d["status"]) for d in history] == [(1, "failed"), (2, "picked_up")]
    assert "pin" not in history[0] and history[1]["pin"] == second.pin
    assert history[0]["failure_reason"] == "Address not found"
    services.delivery_complete(courier=c2, delivery_id=second.pk, pin=second.pin)
    assert Order.objects.get(pk=order.pk).status == "delivered"
    assert buyer.get("/api/v1/deliveries/?order=nope").status_code == 400


@pytest.mark.django_db
def test_a_courier_who_gives_up_before_pickup_fails_the_attempt_and_the_store_resends():
    d = ready_delivery()
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="failed", reason="Bike broke down")
    assert Order.objects.get(pk=d.order_id).status == "delivery_failed"
    order_services.order_transition(user=d.order.vendor.owner, order_id=d.order_id, to_status="ready_for_pickup")
    assert open_delivery_of(d.order).attempt == 2


@pytest.mark.django_db
def test_the_store_delivers_itself_and_still_needs_the_buyers_pin():
    d = ready_delivery()
    vendor = d.order.vendor
    clerk = VendorStaffFactory(vendor=vendor).user
    for outsider, code in ((courier(), 404), (VendorFactory().owner, 404), (d.order.buyer, 403)):
        assert client_for(outsider).post(f"/api/v1/deliveries/{d.pk}/self-deliver/").status_code == code
    r = client_for(clerk).post(f"/api/v1/deliveries/{d.pk}/self-deliver/")
    assert r.status_code == 200, r.content
    assert (r.json()["mode"], r.json()["courier"]["id"], r.json()["status"]) == ("store", str(clerk.pk), "assigned")
    with pytest.raises(Conflict) as exc:
        services.delivery_claim(courier=courier(), delivery_id=d.pk)
    assert exc.value.code == "already_claimed"
    with pytest.raises(Forbidden):  # another of the store's staff is not the one carrying it
        services.delivery_set_status(courier=vendor.owner, delivery_id=d.pk, status="picked_up")
    services.delivery_set_status(courier=clerk, delivery_id=d.pk, status="picked_up")
    assert Order.objects.get(pk=d.order_id).status == "out_for_delivery"
    with pytest.raises(Conflict) as exc:
        services.delivery_set_status(courier=clerk, delivery_id=d.pk, status="delivered")
    assert exc.value.code == "proof_required"
    wrong = "0000" if d.pin != "0000" else "1111"
    r = client_for(clerk).post(f"/api/v1/deliveries/{d.pk}/complete/", {"pin": wrong}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wrong_pin"
    assert client_for(clerk).post(f"/api/v1/deliveries/{d.pk}/complete/", {"pin": d.pin}, format="json").status_code == 200
    order = Order.objects.get(pk=d.order_id)
    assert order.status == "delivered" and order.escrow.status == "held"  # paid after the window, as ever
    assert order.status_changes.get(to_status="delivered").actor == clerk


@pytest.mark.django_db
def test_a_suspended_store_cannot_take_deliveries():
    d = ready_delivery()
    d.order.vendor.status = "suspended"
    d.order.vendor.save()
    with pytest.raises(Forbidden) as exc:
        services.delivery_take_by_store(user=d.order.vendor.owner, delivery_id=d.pk)
    assert exc.value.code == "not_store_staff"


@pytest.mark.django_db
def test_cancelling_before_any_courier_cancels_the_waiting_delivery_and_tells_the_buyer():
    d = ready_delivery()
    order_services.order_transition(user=d.order.vendor.owner, order_id=d.order_id, to_status="cancelled", reason="no stock")
    d.refresh_from_db()
    assert (d.status, d.cancel_reason, d.courier_id) == ("cancelled", "no stock", None)
    assert OutboxEvent.objects.filter(topic=f"user:{d.order.buyer_id}", type="delivery.cancelled").count() == 1
    assert not Notification.objects.filter(kind="delivery.cancelled").exists()  # nobody was carrying it
    assert client_for(courier()).get("/api/v1/deliveries/?open=1").json() == []


@pytest.mark.django_db
def test_a_full_refund_before_pickup_cancels_the_delivery_too():
    d = ready_delivery()
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    payments.refund_create(user=d.order.vendor.owner, order_id=d.order_id)
    d.refresh_from_db()
    assert Order.objects.get(pk=d.order_id).status == "refunded" and d.status == "cancelled"
    assert Notification.objects.filter(recipient=c, kind="delivery.cancelled").count() == 1


@pytest.mark.django_db
def test_at_most_one_open_attempt_per_order():
    d = ready_delivery()
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(order=d.order, attempt=2, pickup_lat=0, pickup_lon=0, dropoff_lat=0, dropoff_lon=0,
                                pin="1234")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(order=d.order, attempt=1, status="failed", pickup_lat=0, pickup_lon=0, dropoff_lat=0,
                                dropoff_lon=0, pin="1234")


@pytest.mark.django_db(transaction=True)
def test_the_migration_to_attempts_keeps_every_delivery():
    """0001 (one delivery per order) → 0002 (attempts): rows, ids, PINs, couriers and statuses
    survive; each becomes attempt 1 in courier mode."""
    d, carrier = picked_up(ready_delivery())
    executor = MigrationExecutor(connection)
    target_old = [("delivery", "0001_initial")]
    # every app's latest: migrating delivery back unapplies the apps that depend on it (support),
    # which must come back too
    target_new = executor.loader.graph.leaf_nodes()
    try:
        Delivery.objects.exclude(pk=d.pk).delete()
        executor.migrate(target_old)
        old = executor.loader.project_state(target_old).apps.get_model("delivery", "Delivery")
        assert old.objects.get(pk=d.pk).status == "picked_up"
        with connection.cursor() as cur:
            cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'delivery_delivery'::regclass")
            assert "attempt" not in {r[0] for r in cur.fetchall()}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(target_new)
    row = Delivery.objects.get(pk=d.pk)
    assert (row.attempt, row.mode, row.status, row.courier_id, row.pin, row.order_id) == (
        1, "courier", "picked_up", carrier.pk, d.pin, d.order_id)
