"""Buyer protection: proven delivery starts the window, the sweep (and the ETA task) release the
escrow after it, the buyer may confirm receipt earlier; events on the buyer's and the store's
topics, notifications, the order payload, and a sweep that survives a failing release."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from commerce.payments import escrow
from commerce.payments import services as payments
from commerce.payments import tasks as payment_tasks
from commerce.wallet import services as wallets
from commerce.wallet.models import Escrow, LedgerEntry, Wallet
from core.exceptions import Conflict, Forbidden, NotFound
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.core import UserFactory
from tests.factories.delivery import deliver, delivered_order, picked_up, ready_delivery
from tests.factories.orders import funded_wallet

pytestmark = pytest.mark.django_db


def escrow_events(order, topic):
    return [e.data for e in OutboxEvent.objects.filter(topic=topic, type="escrow.updated").order_by("id")
            if e.data["order_id"] == str(order.pk)]


def key():
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def test_proven_delivery_starts_the_window_and_the_sweep_releases_after_it_once():
    order = delivered_order(price="40.00")
    held = Escrow.objects.get(order=order)
    assert held.status == "held" and held.release_after == order.delivered_at + timedelta(days=3)
    for topic in (f"user:{order.buyer_id}", f"vendor:{order.vendor_id}"):
        assert [e["reason"] for e in escrow_events(order, topic)] == ["held", "protection_started"]
    note = Notification.objects.get(recipient=order.buyer, kind="escrow.protection_started")
    assert note.data["release_after"] == held.release_after.isoformat()

    assert escrow.escrows_release_due(now=held.release_after - timedelta(seconds=1))["released"] == 0
    assert escrow.escrows_release_due(now=held.release_after)["released"] == 1
    assert escrow.escrows_release_due(now=held.release_after + timedelta(days=1))["released"] == 0
    assert escrow.escrow_release_due(order_id=order.pk, now=held.release_after + timedelta(days=1)) is False
    held.refresh_from_db()
    assert (held.status, held.release_reason, held.commission) == ("released", "protection_elapsed", Decimal("4.00"))
    owner_wallet = Wallet.objects.get(user=order.vendor.owner)
    assert list(LedgerEntry.objects.filter(wallet=owner_wallet).order_by("id").values_list("kind", "amount")) == [
        ("payout", Decimal("40.00")), ("commission", Decimal("-4.00"))]
    assert wallets.wallet_check_ledger(wallet=owner_wallet).ok
    for topic in (f"user:{order.buyer_id}", f"vendor:{order.vendor_id}"):
        last = escrow_events(order, topic)[-1]
        assert (last["reason"], last["status"], last["release_reason"]) == ("released", "released", "protection_elapsed")
    assert Notification.objects.filter(recipient=order.vendor.owner, kind="escrow.released").count() == 1


@override_settings(BUYER_PROTECTION_DAYS=1.5)
def test_the_window_is_a_setting():
    order = delivered_order()
    assert order.escrow.release_after - order.delivered_at == timedelta(hours=36)


@override_settings(BUYER_PROTECTION_DAYS=0.0001)  # 8.64 s: due before the next sweep
def test_a_release_due_soon_gets_an_eta_task_and_the_task_releases_it(monkeypatch, django_capture_on_commit_callbacks):
    scheduled = []
    monkeypatch.setattr(payment_tasks.release_escrow, "apply_async", lambda args, eta: scheduled.append((args, eta)))
    d, carrier = picked_up(ready_delivery())
    with django_capture_on_commit_callbacks(execute=True):
        order = deliver(d, carrier)
    assert scheduled == [([str(order.pk)], order.escrow.release_after)]
    assert payment_tasks.release_escrow.run(str(order.pk)) is False  # not yet due: the task is a no-op
    assert escrow.escrow_release_due(order_id=order.pk, now=order.escrow.release_after) is True


def test_the_sweep_schedules_eta_tasks_for_releases_due_before_the_next_sweep(monkeypatch, django_capture_on_commit_callbacks):
    scheduled = []
    monkeypatch.setattr(payment_tasks.release_escrow, "apply_async", lambda args, eta: scheduled.append((args, eta)))
    order = delivered_order()
    assert scheduled == []  # three days away: no task waits in the broker for days
    due = order.escrow.release_after
    with django_capture_on_commit_callbacks(execute=True):
        result = escrow.escrows_release_due(now=due - timedelta(seconds=30))
    assert result == {"released": 0, "failed": 0, "scheduled": 1}
    assert scheduled == [([str(order.pk)], due)]


def test_the_buyer_confirms_receipt_and_the_store_is_paid_at_once():
    order = delivered_order(price="20.00")
    buyer = client_for(order.buyer)
    before = buyer.get(f"/api/v1/orders/{order.pk}/").json()
    assert before["allowed_actions"] == ["confirm_receipt", "open_dispute"]
    assert before["escrow"]["status"] == "held" and before["escrow"]["frozen"] is False
    k = key()
    r = buyer.post(f"/api/v1/orders/{order.pk}/confirm-receipt/", **k)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["escrow"]["status"] == "released" and body["escrow"]["release_reason"] == "receipt_confirmed"
    assert body["allowed_actions"] == []
    assert buyer.post(f"/api/v1/orders/{order.pk}/confirm-receipt/", **k).json() == body  # replayed
    again = buyer.post(f"/api/v1/orders/{order.pk}/confirm-receipt/", **key())
    assert again.status_code == 409 and again.json()["code"] == "escrow_not_held"
    assert LedgerEntry.objects.filter(kind="payout", wallet__user=order.vendor.owner).count() == 1
    late = buyer.post(f"/api/v1/orders/{order.pk}/disputes/", {"reason": "damaged", "description": "Cracked"},
                      format="json")
    assert late.status_code == 409 and late.json()["code"] == "protection_ended"


def test_only_the_buyer_confirms_receipt_and_only_after_delivery():
    order = delivered_order()
    with pytest.raises(Forbidden) as exc:
        escrow.escrow_confirm_receipt(user=order.vendor.owner, order_id=order.pk)
    assert exc.value.code == "receipt_not_allowed"
    with pytest.raises(NotFound):
        escrow.escrow_confirm_receipt(user=UserFactory(), order_id=order.pk)
    assert client_for(UserFactory()).post(f"/api/v1/orders/{order.pk}/confirm-receipt/", **key()).status_code == 404
    on_the_way, _ = picked_up(ready_delivery())
    with pytest.raises(Conflict) as exc:
        escrow.escrow_confirm_receipt(user=on_the_way.order.buyer, order_id=on_the_way.order_id)
    assert exc.value.code == "not_delivered"
    assert Escrow.objects.get(order=order).status == "held"


def test_a_refund_inside_the_window_lowers_what_the_store_is_paid():
    order = delivered_order(price="40.00", method="wallet")
    payments.refund_create(user=order.vendor.owner, order_id=order.pk, amount="10.00", reason="scratch")
    held = Escrow.objects.get(order=order)
    assert (held.status, held.amount) == ("held", Decimal("30.00"))
    assert escrow_events(order, f"vendor:{order.vendor_id}")[-1]["reason"] == "refunded"
    escrow.escrows_release_due(now=held.release_after)
    assert Wallet.objects.get(user=order.vendor.owner).balance == Decimal("27.00")  # 30.00 - 3.00 commission
    assert Wallet.objects.get(user=order.buyer).balance == Decimal("10.00")


def test_the_store_sees_the_escrow_but_has_no_buyer_actions():
    order = delivered_order()
    body = client_for(order.vendor.owner).get(f"/api/v1/orders/{order.pk}/").json()
    assert body["escrow"]["status"] == "held" and body["allowed_actions"] == []
    listed = client_for(order.vendor.owner).get("/api/v1/vendor/orders/").json()["results"]
    assert listed[0]["escrow"]["release_after"] == body["escrow"]["release_after"]


def test_a_release_that_fails_is_retried_later_and_does_not_block_the_others():
    stuck = delivered_order(price="30.00")
    fine = delivered_order(price="30.00")
    funded_wallet(stuck.vendor.owner, wallets.MAX_BALANCE - Decimal("10.00"))  # the payout would overflow it
    due = max(stuck.escrow.release_after, fine.escrow.release_after)
    assert escrow.escrows_release_due(now=due) == {"released": 1, "failed": 1, "scheduled": 0}
    assert Escrow.objects.get(order=stuck).status == "held" and Escrow.objects.get(order=fine).status == "released"
