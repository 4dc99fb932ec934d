"""Buyer protection over real sockets on a real Daphne: proven delivery, the dispute and its
resolution reach the buyer's ``user:`` and the store's ``vendor:`` topics as they happen."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import client_for, tokens_for
from tests.factories.core import AdminFactory
from tests.factories.delivery import deliver, picked_up, ready_delivery
from tests.live import WSClient

pytestmark = pytest.mark.live


def socket_for(live, user, topic: str) -> WSClient:
    ws = WSClient(live.ws_url)
    ws.auth(tokens_for(user)["access"])
    assert ws.request("subscribe", topic=topic)["status"] == "ok"
    return ws


def test_protection_dispute_and_resolution_are_live_for_buyer_and_store(live):
    d, carrier = picked_up(ready_delivery(price="40.00"))
    order = d.order
    buyer_topic, store_topic = f"user:{order.buyer_id}", f"vendor:{order.vendor_id}"
    buyer_ws = socket_for(live, order.buyer, buyer_topic)
    store_ws = socket_for(live, order.vendor.owner, store_topic)

    deliver(d, carrier)
    for ws, topic in ((buyer_ws, buyer_topic), (store_ws, store_topic)):
        started = ws.next_event(topic, "escrow.updated")
        assert (started["data"]["reason"], started["data"]["status"]) == ("protection_started", "held")
        assert started["data"]["release_after"]

    r = client_for(order.buyer).post(f"/api/v1/orders/{order.pk}/disputes/",
                                     {"reason": "not_as_described", "description": "Wrong thread size."}, format="json")
    dispute_id = r.json()["id"]
    opened = store_ws.next_event(store_topic, "dispute.opened")
    assert opened["data"]["dispute"]["id"] == dispute_id and opened["data"]["dispute"]["status"] == "open"
    frozen = buyer_ws.next_event(buyer_topic, "escrow.updated")
    assert frozen["data"]["reason"] == "frozen" and frozen["data"]["dispute_id"] == dispute_id

    client_for(order.vendor.owner).post(f"/api/v1/disputes/{dispute_id}/statements/",
                                        {"text": "The listing says M20x1.5."}, format="json")
    said = buyer_ws.next_event(buyer_topic, "dispute.statement")
    assert said["data"]["statement"]["role"] == "store"

    client_for(AdminFactory()).post(f"/api/v1/disputes/{dispute_id}/resolve/",
                                    {"resolution": "partial_refund", "amount": "10.00"}, format="json",
                                    HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    for ws, topic in ((buyer_ws, buyer_topic), (store_ws, store_topic)):
        resolved = ws.next_event(topic, "dispute.resolved")
        assert resolved["data"]["dispute"]["status"] == "resolved_partial_refund"
        assert resolved["data"]["dispute"]["resolution"]["refund_amount"] == "10.00"
    released = store_ws.next_event(store_topic, "escrow.updated")
    while released["data"]["reason"] != "released":
        released = store_ws.next_event(store_topic, "escrow.updated")
    assert released["data"]["amount"] == "30.00" and released["data"]["release_reason"] == "dispute_resolved"
    buyer_ws.close()
    store_ws.close()
