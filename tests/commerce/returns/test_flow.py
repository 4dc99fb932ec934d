"""A return from request to refund over REST, with a carrier: the buyer asks with a photo, the
store approves, the buyer sends it with a tracking number, the store marks it received,
inspects (stock back) and refunds (from the escrow, less a restocking fee); every step is live on
the buyer's ``user:`` and the store's ``vendor:`` topics and notified to the other side. Also:
the buyer cancels, the store rejects and the buyer escalates to staff, who decide."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from commerce.catalog.models import Product
from commerce.disputes.models import Dispute
from commerce.orders.models import Order
from commerce.returns.models import ReturnPhoto, ReturnRequest
from commerce.wallet.models import Escrow, LedgerEntry
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorStaffFactory
from tests.factories.core import AdminFactory
from tests.factories.returns import delivered_order_of, requested
from tests.images import assert_no_metadata, gps_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.RETURNS_MEDIA_ROOT = tmp_path


def key():
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def events(order, type_):
    return {t: [e.data for e in OutboxEvent.objects.filter(topic=t, type=type_).order_by("id")]
            for t in (f"user:{order.buyer_id}", f"vendor:{order.vendor_id}")}


def moves(order):
    """``[(from, to)]`` of the ``return.status_changed`` events on both topics (the same list)."""
    both = events(order, "return.status_changed")
    lists = [[(e["from"], e["to"]) for e in evs] for evs in both.values()]
    assert lists[0] == lists[1]
    return lists[0]


def test_a_return_travels_by_carrier_from_request_to_refund_over_rest():
    order = delivered_order_of([("20.00", 2), ("5.00", 1)], method="wallet")
    clerk = VendorStaffFactory(vendor=order.vendor).user
    buyer, store = client_for(order.buyer), client_for(order.vendor.owner)
    first = order.lines.order_by("id").first()
    stock_before = Product.objects.get(pk=first.product_id).stock
    assert store.patch(f"/api/v1/vendors/{order.vendor_id}/return-policy/", {"restocking_fee_max_percent": "10"},
                       format="json").status_code == 200

    returnable = buyer.get(f"/api/v1/orders/{order.pk}/returnable/").json()
    assert returnable["open"] is True
    assert [(line["quantity"], line["returnable_quantity"]) for line in returnable["lines"]] == [(2, 2), (1, 1)]

    upload = buyer.post("/api/v1/returns/photos/", {"file": SimpleUploadedFile("box.jpg", gps_jpeg(), "image/jpeg")},
                        format="multipart")
    assert upload.status_code == 201, upload.content
    photo = upload.json()
    r = buyer.post(f"/api/v1/orders/{order.pk}/returns/", {
        "lines": [{"order_line_id": first.pk, "quantity": 1}], "reason": "changed_mind",
        "description": "Ordered the wrong size.", "photo_ids": [photo["id"]]}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    rid = body["id"]
    assert (body["status"], body["reason"], body["allowed_actions"]) == ("requested", "changed_mind", ["cancel"])
    assert [(line["order_line_id"], line["quantity"], line["grade"]) for line in body["lines"]] == [(first.pk, 1, None)]
    assert [p["id"] for p in body["photos"]] == [photo["id"]]
    assert buyer.get(f"/api/v1/orders/{order.pk}/returnable/").json()["lines"][0]["returnable_quantity"] == 1
    for topic, evs in events(order, "return.requested").items():
        assert [e["return"]["id"] for e in evs] == [rid], topic
    for who in (order.vendor.owner, clerk):
        assert Notification.objects.filter(recipient=who, kind="return.requested").count() == 1
    # the store sees the photo, re-encoded, without the phone's EXIF
    served = store.get(photo["url"])
    assert served.status_code == 200
    assert assert_no_metadata(b"".join(served.streaming_content)).size == (20, 40)

    r = store.post(f"/api/v1/returns/{rid}/approve/", {"note": "Send it to the shop, please."}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "approved", r.content
    assert r.json()["decision"]["note"] == "Send it to the shop, please."
    assert Notification.objects.filter(recipient=order.buyer, kind="return.updated").count() == 1
    assert buyer.get(f"/api/v1/returns/{rid}/").json()["allowed_actions"] == ["cancel", "ship"]

    r = buyer.post(f"/api/v1/returns/{rid}/ship/", {"transport": "carrier", "carrier": "DHL",
                                                   "tracking_number": "00340434161234567890"}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["transport"], r.json()["tracking_number"]) == (
        "in_transit", "carrier", "00340434161234567890")
    assert store.get(f"/api/v1/returns/{rid}/").json()["allowed_actions"] == ["receive"]

    assert store.post(f"/api/v1/returns/{rid}/receive/").json()["status"] == "received"
    line_id = ReturnRequest.objects.get(pk=rid).lines.get().pk
    r = store.post(f"/api/v1/returns/{rid}/inspect/", {"lines": [{"id": line_id, "grade": "opened"}],
                                                       "note": "Box opened, part unused."}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["lines"][0]["grade"], r.json()["lines"][0]["restocked_quantity"]) == (
        "inspected", "opened", 1)
    assert Product.objects.get(pk=first.product_id).stock == stock_before + 1

    escrow_before = Escrow.objects.get(order=order).amount
    r = store.post(f"/api/v1/returns/{rid}/refund/", {"restocking_fee_percent": "10", "note": "10 % restocking."},
                   format="json", **key())
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "partially_refunded"
    assert body["refund"] == {**body["refund"], "amount": "18.00", "shipping": "0.00", "restocking_fee_percent": "10.00",
                              "restocking_fee": "2.00", "source": "escrow"}
    assert [(line["paid_amount"], line["restocking_fee"], line["refund_amount"]) for line in body["lines"]] == [
        ("20.00", "2.00", "18.00")]
    order.refresh_from_db()
    assert order.refunded_total == Decimal("18.00") and order.status == "delivered"
    assert Escrow.objects.get(order=order).amount == escrow_before - Decimal("18.00")
    assert LedgerEntry.objects.filter(wallet__user=order.buyer, kind="refund", amount=Decimal("18.00")).count() == 1
    assert moves(order) == [("requested", "approved"), ("approved", "in_transit"), ("in_transit", "received"),
                            ("received", "inspected"), ("inspected", "partially_refunded")]
    history = [(h["from_status"], h["to_status"]) for h in body["history"]]
    assert history == [("", "requested"), *moves(order)]
    assert body["allowed_actions"] == []


def test_the_buyer_cancels_before_the_parcel_left_and_may_ask_again():
    order = delivered_order_of([("9.00", 1)])
    buyer = client_for(order.buyer)
    rma = requested(order)
    r = buyer.post(f"/api/v1/returns/{rma.pk}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert Notification.objects.filter(recipient=order.vendor.owner, kind="return.updated").count() == 1
    again = requested(order)
    assert again.status == "requested" and again.pk != rma.pk


def test_a_rejected_return_is_escalated_and_staff_decide_it():
    order = delivered_order_of([("30.00", 1), ("12.00", 1)], method="card")
    staff = AdminFactory()
    line = order.lines.order_by("id").first()
    rma = requested(order, lines=[{"order_line_id": line.pk, "quantity": 1}], reason="not_as_described")
    store, buyer = client_for(order.vendor.owner), client_for(order.buyer)
    assert store.post(f"/api/v1/returns/{rma.pk}/reject/", {}, format="json").json()["code"] == "invalid"
    r = store.post(f"/api/v1/returns/{rma.pk}/reject/", {"reason": "The photos show wear from use."}, format="json")
    assert r.json()["status"] == "rejected" and r.json()["decision"]["note"] == "The photos show wear from use."
    assert buyer.get(f"/api/v1/returns/{rma.pk}/").json()["allowed_actions"] == ["escalate"]

    r = buyer.post(f"/api/v1/returns/{rma.pk}/escalate/", {"description": "It was scratched when it arrived."},
                   format="json")
    assert r.status_code == 200, r.content
    escalation = r.json()["escalation"]
    dispute = Dispute.objects.get(pk=escalation["dispute_id"])
    assert (dispute.source, dispute.source_id, dispute.reason, dispute.claimed_amount, dispute.status) == (
        "return", rma.pk, "not_as_described", Decimal("30.00"), "open")
    assert events(order, "return.updated")[f"user:{order.buyer_id}"][-1]["change"] == "escalated"
    again = buyer.post(f"/api/v1/returns/{rma.pk}/escalate/", {"description": "Again."}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_escalated"
    assert client_for(staff).get(f"/api/v1/disputes/{dispute.pk}/").json()["source_id"] == str(rma.pk)

    decided = client_for(staff).post(f"/api/v1/disputes/{dispute.pk}/resolve/",
                                     {"resolution": "partial_refund", "amount": "30.00"}, format="json", **key())
    assert decided.status_code == 200, decided.content
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")
    view = buyer.get(f"/api/v1/returns/{rma.pk}/").json()
    assert view["escalation"]["status"] == "resolved_partial_refund" and view["escalation"]["refund_amount"] == "30.00"
    assert view["allowed_actions"] == []


def test_lists_show_each_side_its_returns():
    order = delivered_order_of([("9.00", 1)])
    other = delivered_order_of([("9.00", 1)])
    mine, theirs = requested(order), requested(other)
    assert [r["id"] for r in client_for(order.buyer).get("/api/v1/returns/").json()["results"]] == [str(mine.pk)]
    assert [r["id"] for r in client_for(other.vendor.owner).get("/api/v1/returns/").json()["results"]] == [str(theirs.pk)]
    staff_view = client_for(AdminFactory()).get("/api/v1/returns/?status=requested").json()["results"]
    assert {r["id"] for r in staff_view} == {str(mine.pk), str(theirs.pk)}
    assert client_for(order.buyer).get("/api/v1/returns/?status=nope").json()["code"] == "invalid"
    assert [r["id"] for r in client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/returns/").json()] == [str(mine.pk)]
    assert ReturnPhoto.objects.count() == 0 and Order.objects.count() == 2


def test_a_retried_return_request_with_its_idempotency_key_creates_one_return():
    """A buyer's app that lost the answer retries with the same key: the first return comes back
    (``Idempotent-Replayed``), no second return of the remaining units is made; the same key with
    another body is refused and a new key asks again."""
    order = delivered_order_of([("12.00", 3)])
    buyer = client_for(order.buyer)
    line = order.lines.get()
    body = {"lines": [{"order_line_id": line.pk, "quantity": 1}], "reason": "damaged", "description": "Cracked."}
    headers = key()
    first = buyer.post(f"/api/v1/orders/{order.pk}/returns/", body, format="json", **headers)
    again = buyer.post(f"/api/v1/orders/{order.pk}/returns/", body, format="json", **headers)
    assert first.status_code == again.status_code == 201, (first.content, again.content)
    assert again.json()["id"] == first.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert ReturnRequest.objects.filter(order=order).count() == 1

    other = dict(body, lines=[{"order_line_id": line.pk, "quantity": 2}])
    reused = buyer.post(f"/api/v1/orders/{order.pk}/returns/", other, format="json", **headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert ReturnRequest.objects.filter(order=order).count() == 1

    fresh = buyer.post(f"/api/v1/orders/{order.pk}/returns/", body, format="json", **key())
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    assert ReturnRequest.objects.filter(order=order).count() == 2
