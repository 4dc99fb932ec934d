"""Issue 13, table row 4: a store walked its own paid order processing → ready_for_pickup →
out_for_delivery → delivered with status POSTs; all 200, the escrow was paid out, the delivery
stayed pending with no courier and no PIN. Now the delivery-owned statuses are system-only for
every role, and even proven delivery pays the store only after the buyer-protection window."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from commerce.orders.models import Order
from commerce.payments import escrow
from commerce.wallet.models import Escrow, LedgerEntry
from delivery.models import Delivery
from tests.conftest import client_for
from tests.factories.core import AdminFactory
from tests.factories.delivery import deliver, picked_up, ready_delivery

pytestmark = pytest.mark.django_db


def status_post(user, order_id, to):
    return client_for(user).post(f"/api/v1/orders/{order_id}/status/", {"status": to}, format="json")


def test_row4_a_store_cannot_walk_its_own_order_to_delivered():
    """Row 4: processing and ready_for_pickup are the store's; out_for_delivery and delivered
    are refused (403) and nothing moves: no payout, the delivery still waits for a courier."""
    d = ready_delivery(price="40.00")
    owner = d.order.vendor.owner
    for to in ("out_for_delivery", "delivered"):
        r = status_post(owner, d.order_id, to)
        assert r.status_code in (403, 409) and r.json()["code"] in ("transition_not_allowed", "invalid_transition"), to
        assert set(r.json()) >= {"code", "detail"}
    assert status_post(owner, d.order_id, "out_for_delivery").json()["code"] == "transition_not_allowed"
    order = Order.objects.get(pk=d.order_id)
    assert order.status == "ready_for_pickup"
    assert Delivery.objects.get(pk=d.pk).status == "pending"
    assert Escrow.objects.get(order=order).status == "held"
    assert not LedgerEntry.objects.filter(kind="payout").exists()


def test_row4_no_role_sets_delivered_on_a_parcel_that_is_out_for_delivery():
    """Row 4: with the parcel really on its way, neither the store, the buyer nor an admin can
    declare it delivered by a status POST: only the courier with the buyer's PIN or QR can."""
    d, _ = picked_up(ready_delivery(price="40.00"))
    assert Order.objects.get(pk=d.order_id).status == "out_for_delivery"
    for who in (d.order.vendor.owner, d.order.buyer, AdminFactory()):
        r = status_post(who, d.order_id, "delivered")
        assert r.status_code == 403 and r.json()["code"] == "transition_not_allowed", who
        assert "delivered" not in client_for(who).get(f"/api/v1/orders/{d.order_id}/").json()["allowed_transitions"]
    order = Order.objects.get(pk=d.order_id)
    assert order.status == "out_for_delivery" and order.escrow.status == "held"
    assert order.status_changes.filter(to_status="delivered").count() == 0


def test_row4_admin_cannot_skip_the_courier_either():
    """Row 4: an admin could make any mapped move; the delivery-owned ones are no longer theirs."""
    d = ready_delivery()
    r = status_post(AdminFactory(), d.order_id, "out_for_delivery")
    assert r.status_code == 403 and r.json()["code"] == "transition_not_allowed"
    assert Order.objects.get(pk=d.order_id).status == "ready_for_pickup"


def test_row4_proven_delivery_pays_the_store_only_after_the_protection_window():
    """Row 4: the escrow used to be paid out at `delivered`. Proof (the buyer's PIN) now only
    starts the window; the sweep before its end pays nothing, after it pays once."""
    d, carrier = picked_up(ready_delivery(price="40.00"))
    order = deliver(d, carrier)
    assert not LedgerEntry.objects.filter(kind="payout").exists()
    held = Escrow.objects.get(order=order)
    assert held.status == "held" and held.release_after == order.delivered_at + timedelta(days=3)
    assert escrow.escrows_release_due(now=held.release_after - timedelta(seconds=1))["released"] == 0
    assert not LedgerEntry.objects.filter(kind="payout").exists()
    assert escrow.escrows_release_due(now=held.release_after)["released"] == 1
    payout = LedgerEntry.objects.get(kind="payout", wallet__user=order.vendor.owner)
    assert payout.amount == Decimal("40.00") and payout.reference == f"order:{order.id}"
