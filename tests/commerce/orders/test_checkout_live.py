"""Checkout over real sockets on a real Daphne: the buyer's cart topic shows the reservation and
its expiry, the store's ``vendor:`` topic gets ``order.created`` when the order is paid, and the
buyer's ``user:`` topic gets ``order.status_changed`` and ``wallet.updated``."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import client_for, tokens_for
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.orders import buyer_with_cart, funded_wallet, shipping_choice
from tests.live import WSClient

pytestmark = pytest.mark.live


def socket_for(live, user, *topics: str) -> WSClient:
    ws = WSClient(live.ws_url)
    ws.auth(tokens_for(user)["access"])
    for topic in topics:
        reply = ws.request("subscribe", topic=topic)
        assert reply["status"] == "ok", reply
    return ws


def test_reservation_payment_and_order_events_reach_buyer_and_vendor_live(live):
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor, stock=4, price="10.00")
    buyer = buyer_with_cart({product: 2})
    funded_wallet(buyer, "50.00")
    watcher = buyer_with_cart({product: 1})
    buyer_ws = socket_for(live, buyer, f"cart:{buyer.pk}", f"user:{buyer.pk}")
    watcher_ws = socket_for(live, watcher, f"cart:{watcher.pk}")
    vendor_ws = socket_for(live, vendor.owner, f"vendor:{vendor.pk}")
    stranger = socket_for(live, VendorFactory().owner)
    refused = stranger.request("subscribe", topic=f"vendor:{vendor.pk}")
    assert refused["status"] == "error" and refused["error"]["code"] == "forbidden"

    checkout = client_for(buyer).post("/api/v1/checkout/", {"shipping_methods": shipping_choice(buyer)}, format="json",
                                      HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).json()
    cart_event = buyer_ws.next_event(f"cart:{buyer.pk}", "cart.updated")
    assert cart_event["data"]["reservation"]["checkout_id"] == checkout["id"]
    assert cart_event["data"]["reservation"]["expires_at"] == checkout["expires_at"]
    other = watcher_ws.next_event(f"cart:{watcher.pk}", "cart.updated")
    assert other["data"]["lines"][0]["available_stock"] == 2 and other["data"]["reservation"] is None

    order_id = checkout["orders"][0]["id"]
    paid = client_for(buyer).post(f"/api/v1/orders/{order_id}/payments/", {"method": "wallet"}, format="json",
                                  HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert paid.status_code == 201 and paid.json()["status"] == "succeeded"
    created = vendor_ws.next_event(f"vendor:{vendor.pk}", "order.created")
    assert created["data"]["order"]["id"] == order_id and created["data"]["order"]["status"] == "paid"
    wallet = buyer_ws.next_event(f"user:{buyer.pk}", "wallet.updated")
    assert wallet["data"]["balance"] == "30.00"
    status = buyer_ws.next_event(f"user:{buyer.pk}", "order.status_changed")
    assert (status["data"]["from"], status["data"]["to"]) == ("pending_payment", "paid")
    after = buyer_ws.next_event(f"cart:{buyer.pk}", "cart.updated")  # the bought line left the cart
    assert after["data"]["lines"] == [] and after["data"]["reservation"] is None
    for ws in (buyer_ws, watcher_ws, vendor_ws, stranger):
        ws.close()
