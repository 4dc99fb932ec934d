"""Disputes: opening inside the buyer-protection window (and every refusal), the frozen escrow,
statements from each party, the three resolutions with their money, withdrawal, the staff
queue, events and notifications, and the door returns will use (a dispute after release)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from commerce.disputes import services as disputes
from commerce.disputes.models import DISPUTE_TRANSITIONS, Dispute, DisputeStatus
from commerce.orders.models import Order
from commerce.orders.services import lock_order
from commerce.payments import escrow
from commerce.wallet import services as wallets
from commerce.wallet.models import Escrow, LedgerEntry, Wallet
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.delivery import delivered_order, picked_up, ready_delivery
from tests.factories.disputes import DisputeFactory

pytestmark = pytest.mark.django_db


def key():
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def open_over_rest(order, **body):
    payload = {"reason": "damaged", "description": "The housing is cracked.", **body}
    return client_for(order.buyer).post(f"/api/v1/orders/{order.pk}/disputes/", payload, format="json")


def resolve(staff, dispute, **body):
    return client_for(staff).post(f"/api/v1/disputes/{dispute.pk}/resolve/", body, format="json", **key())


def events(order, type_):
    return {t: [e.data for e in OutboxEvent.objects.filter(topic=t, type=type_).order_by("id")]
            for t in (f"user:{order.buyer_id}", f"vendor:{order.vendor_id}")}


@pytest.fixture
def staff():
    return AdminFactory()


def test_the_buyer_opens_a_dispute_that_freezes_the_escrow(staff):
    order = delivered_order(price="40.00")
    clerk = VendorStaffFactory(vendor=order.vendor).user
    r = open_over_rest(order, claimed_amount="25.00")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["reason"], body["claimed_amount"], body["source"]) == ("open", "damaged", "25.00", "buyer")
    assert body["order"]["id"] == str(order.pk) and body["statements"] == []
    view = client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/").json()
    assert view["escrow"]["frozen"] is True and view["escrow"]["dispute_id"] == body["id"]
    assert view["allowed_actions"] == []
    for topic, evs in events(order, "dispute.opened").items():
        assert [e["dispute"]["id"] for e in evs] == [body["id"]], topic
    for topic, evs in events(order, "escrow.updated").items():
        assert evs[-1]["reason"] == "frozen" and evs[-1]["frozen"] is True, topic
    for who in (order.vendor.owner, clerk, staff):
        assert Notification.objects.filter(recipient=who, kind="dispute.opened").count() == 1
    assert not Notification.objects.filter(recipient=order.buyer, kind="dispute.opened").exists()
    # frozen: neither the window's end nor the buyer releases it
    due = order.escrow.release_after
    assert escrow.escrows_release_due(now=due + timedelta(days=10))["released"] == 0
    with pytest.raises(Conflict) as exc:
        escrow.escrow_confirm_receipt(user=order.buyer, order_id=order.pk)
    assert exc.value.code == "dispute_open"
    assert Escrow.objects.get(order=order).status == "held"


def test_opening_is_refused_outside_the_rules():
    order = delivered_order()
    store = client_for(order.vendor.owner).post(f"/api/v1/orders/{order.pk}/disputes/",
                                                {"reason": "other", "description": "x"}, format="json")
    assert store.status_code == 403 and store.json()["code"] == "dispute_not_allowed"
    stranger = client_for(UserFactory()).post(f"/api/v1/orders/{order.pk}/disputes/",
                                              {"reason": "other", "description": "x"}, format="json")
    assert stranger.status_code == 404
    assert open_over_rest(order, reason="changed_my_mind").status_code == 400
    assert open_over_rest(order, claimed_amount="10.01").json()["code"] == "invalid_amount"  # more than paid
    assert open_over_rest(order, description="   ").status_code == 400
    with pytest.raises(Conflict) as exc:
        disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="late",
                              now=order.escrow.release_after)
    assert exc.value.code == "protection_ended"
    on_the_way, _ = picked_up(ready_delivery())
    r = open_over_rest(on_the_way.order)
    assert r.status_code == 409 and r.json()["code"] == "not_delivered"
    assert open_over_rest(order).status_code == 201
    assert open_over_rest(order).json()["code"] == "dispute_already_open"
    assert Dispute.objects.count() == 1


def test_parties_add_statements_and_staff_stay_anonymous_to_the_others(staff):
    order = delivered_order()
    dispute = disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="wrong_item",
                                    description="Got a spark plug instead of a filter.")
    staff.display_name = "Stella Support"
    staff.save()
    r = client_for(order.vendor.owner).post(f"/api/v1/disputes/{dispute.pk}/statements/",
                                            {"text": "We shipped the right SKU; photo attached."}, format="json")
    assert r.status_code == 201 and r.json()["role"] == "store"
    dispute.refresh_from_db()
    assert dispute.store_responded_at is not None
    assert Notification.objects.filter(recipient=order.buyer, kind="dispute.updated").count() == 1
    disputes.dispute_add_statement(user=staff, dispute_id=dispute.pk, text="Buyer, please send a photo.")
    buyer_view = client_for(order.buyer).get(f"/api/v1/disputes/{dispute.pk}/").json()
    assert [(s["role"], s["author_name"]) for s in buyer_view["statements"]][1] == ("staff", "Marketplace staff")
    staff_view = client_for(staff).get(f"/api/v1/disputes/{dispute.pk}/").json()
    assert staff_view["statements"][1]["author_name"] == "Stella Support"
    disputes.dispute_add_statement(user=order.buyer, dispute_id=dispute.pk, text="Photo sent.")
    assert Notification.objects.filter(recipient=staff, kind="dispute.updated").count() == 1  # staff who spoke
    assert [e["statement"]["role"] for e in events(order, "dispute.statement")[f"vendor:{order.vendor_id}"]] == [
        "store", "staff", "buyer"]
    with pytest.raises(NotFound):
        disputes.dispute_add_statement(user=VendorFactory().owner, dispute_id=dispute.pk, text="Hi")
    assert client_for(UserFactory()).get(f"/api/v1/disputes/{dispute.pk}/").status_code == 404


def test_resolution_release_pays_the_store_and_tells_both_sides(staff):
    order = delivered_order(price="40.00")
    dispute = DisputeFactory(order=order)
    for who in (order.buyer, order.vendor.owner):
        r = resolve(who, dispute, resolution="release")
        assert r.status_code == 403 and r.json()["code"] == "staff_only"
    assert client_for(staff).post(f"/api/v1/disputes/{dispute.pk}/resolve/", {"resolution": "release"},
                                  format="json").json()["code"] == "idempotency_key_required"
    r = resolve(staff, dispute, resolution="release", note="Photos show the part intact.")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "resolved_release"
    assert body["resolution"]["released_amount"] == "40.00" and body["resolution"]["refund_amount"] == "0.00"
    assert body["statements"][-1]["text"] == "Photos show the part intact."
    held = Escrow.objects.get(order=order)
    assert (held.status, held.release_reason) == ("released", "dispute_resolved")
    assert Wallet.objects.get(user=order.vendor.owner).balance == Decimal("36.00")
    for who in (order.buyer, order.vendor.owner):
        assert Notification.objects.filter(recipient=who, kind="dispute.resolved").count() == 1
    for evs in events(order, "dispute.resolved").values():
        assert [e["dispute"]["status"] for e in evs] == ["resolved_release"]
    again = resolve(staff, dispute, resolution="refund")
    assert again.status_code == 409 and again.json() == {
        "code": "invalid_transition", "detail": "This dispute is resolved_release.",
        "from": "resolved_release", "to": "resolved_refund", "allowed": []}


def test_resolution_partial_refund_splits_the_escrow(staff):
    order = delivered_order(price="40.00", method="wallet")
    dispute = DisputeFactory(order=order)
    r = resolve(staff, dispute, resolution="partial_refund", amount="40.00")
    assert r.status_code == 400 and r.json()["code"] == "invalid_amount"
    assert resolve(staff, dispute, resolution="partial_refund").json()["code"] == "invalid_amount"
    r = resolve(staff, dispute, resolution="partial_refund", amount="15.00")
    assert r.status_code == 200 and r.json()["status"] == "resolved_partial_refund"
    assert r.json()["resolution"] == {**r.json()["resolution"], "refund_amount": "15.00", "released_amount": "25.00"}
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("delivered", Decimal("15.00"))
    assert Wallet.objects.get(user=order.buyer).balance == Decimal("15.00")
    assert Wallet.objects.get(user=order.vendor.owner).balance == Decimal("22.50")  # 25.00 - 2.50 commission
    assert Escrow.objects.get(order=order).status == "released"
    for w in Wallet.objects.all():
        assert wallets.wallet_check_ledger(wallet=w).ok


def test_resolution_refund_gives_everything_back_and_the_store_gets_nothing(staff):
    order = delivered_order(price="40.00")  # by card: refunded through the gateway
    dispute = DisputeFactory(order=order)
    r = resolve(staff, dispute, resolution="refund")
    assert r.status_code == 200 and r.json()["resolution"]["refund_amount"] == "40.00"
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("refunded", Decimal("40.00"))
    assert order.payments.get(status="succeeded").refunds.get().gateway_refund_id.startswith("re_test_")
    assert Escrow.objects.get(order=order).status == "refunded"
    assert not LedgerEntry.objects.filter(kind="payout").exists()
    assert events(order, "escrow.updated")[f"vendor:{order.vendor_id}"][-1]["status"] == "refunded"


def test_withdrawing_unfreezes_and_releases_when_the_window_has_passed():
    order = delivered_order(price="40.00")
    dispute = disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Dent")
    with pytest.raises(Forbidden) as exc:
        disputes.dispute_withdraw(user=order.vendor.owner, dispute_id=dispute.pk)
    assert exc.value.code == "withdraw_not_allowed"
    late = order.escrow.release_after + timedelta(hours=2)
    r = client_for(order.buyer).post(f"/api/v1/disputes/{dispute.pk}/withdraw/")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert Escrow.objects.get(order=order).status == "held"  # inside the window: unfrozen, not released
    assert events(order, "escrow.updated")[f"user:{order.buyer_id}"][-1]["reason"] == "unfrozen"
    assert escrow.escrows_release_due(now=late)["released"] == 1
    assert open_over_rest(order).json()["code"] in ("protection_ended", "dispute_exists")

    other = delivered_order()
    d2 = disputes.dispute_open(user=other.buyer, order_id=other.pk, reason="damaged", description="Dent")
    disputes.dispute_withdraw(user=other.buyer, dispute_id=d2.pk, now=other.escrow.release_after + timedelta(hours=1))
    assert Escrow.objects.get(order=other).status == "released"  # the window passed while frozen
    with pytest.raises(Conflict):
        disputes.dispute_open(user=other.buyer, order_id=other.pk, reason="damaged", description="again")


def test_a_buyer_disputes_an_order_once():
    order = delivered_order()
    d = disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Dent")
    disputes.dispute_withdraw(user=order.buyer, dispute_id=d.pk)
    with pytest.raises(Conflict) as exc:
        disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Dent again")
    assert exc.value.code == "dispute_exists"


def test_the_staff_queue_and_the_lists(staff):
    first, second, done = DisputeFactory(), DisputeFactory(), DisputeFactory()
    disputes.dispute_resolve(user=staff, dispute_id=done.pk, resolution="release")
    queue = client_for(staff).get("/api/v1/disputes/queue/").json()
    assert [d["id"] for d in queue] == [str(first.pk), str(second.pk)]
    assert client_for(first.order.buyer).get("/api/v1/disputes/queue/").status_code == 403
    mine = client_for(first.order.buyer).get("/api/v1/disputes/").json()["results"]
    assert [d["id"] for d in mine] == [str(first.pk)]
    store = client_for(second.order.vendor.owner).get("/api/v1/disputes/?status=open").json()["results"]
    assert [d["id"] for d in store] == [str(second.pk)]
    assert client_for(VendorFactory().owner).get("/api/v1/disputes/").json()["results"] == []
    assert len(client_for(staff).get("/api/v1/disputes/").json()["results"]) == 3
    assert client_for(staff).get("/api/v1/disputes/?status=nope").status_code == 400
    by_order = client_for(first.order.buyer).get(f"/api/v1/orders/{first.order_id}/disputes/").json()
    assert [d["id"] for d in by_order] == [str(first.pk)]


def test_the_state_map_is_explicit():
    assert DISPUTE_TRANSITIONS[DisputeStatus.OPEN] == {
        "resolved_release", "resolved_partial_refund", "resolved_refund", "withdrawn"}
    assert all(not DISPUTE_TRANSITIONS[s] for s in DisputeStatus.values if s != "open")


def test_another_app_opens_a_dispute_after_the_release_and_a_refund_comes_from_the_store(staff):
    """The door returns will use (a rejected return escalated): no window, the escrow may be
    released already; a refund then comes back from the store's wallet with its commission."""
    order = delivered_order(price="40.00", method="wallet")
    escrow.escrow_confirm_receipt(user=order.buyer, order_id=order.pk)
    assert Wallet.objects.get(user=order.vendor.owner).balance == Decimal("36.00")
    with pytest.raises(Conflict):
        disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Late")
    with transaction.atomic():
        dispute = disputes.dispute_open_locked(order=lock_order(order.pk), opened_by=order.buyer, source="return",
                                               reason="not_as_described", description="Return rejected; escalated.",
                                               claimed_amount=Decimal("40.00"))
    assert dispute.source == "return" and dispute.status == "open"
    with pytest.raises(ApplicationError):
        disputes.dispute_resolve(user=staff, dispute_id=dispute.pk, resolution="nonsense")
    disputes.dispute_resolve(user=staff, dispute_id=dispute.pk, resolution="refund")
    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert Wallet.objects.get(user=order.buyer).balance == Decimal("40.00")
    assert Wallet.objects.get(user=order.vendor.owner).balance == Decimal("0.00")  # 36 + 4 commission back - 40
