"""REST of checkout, orders, payments, refunds, webhooks and the wallet: status codes, bodies,
Idempotency-Key behaviour (including 50 concurrent requests with one key → one charge), access
per object, and the OpenAPI schema."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from commerce.catalog.models import Product
from commerce.orders.models import Order
from commerce.payments.gateways import GATEWAYS
from commerce.payments.models import Payment
from commerce.wallet.models import LedgerEntry, Wallet
from tests.conftest import client_for
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory
from tests.factories.core import UserFactory
from tests.factories.orders import add_cart_line_unchecked, buyer_with_cart, funded_wallet, shipping_choice

pytestmark = pytest.mark.django_db


def key() -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


@pytest.fixture
def product():
    return ProductFactory(vendor=VendorFactory(), category=CategoryFactory(), price="15.00", stock=3)


def _checkout(buyer, **extra):
    return client_for(buyer).post("/api/v1/checkout/", {"shipping_methods": shipping_choice(buyer)}, format="json",
                                  **(extra or key()))


def test_checkout_needs_an_idempotency_key_and_replays_the_first_response(product):
    buyer = buyer_with_cart({product: 2})
    client = client_for(buyer)
    request = {"shipping_methods": shipping_choice(buyer)}
    r = client.post("/api/v1/checkout/", request, format="json")
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    k = key()
    first = client.post("/api/v1/checkout/", request, format="json", **k)
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["status"] == "active" and body["total"] == "30.00" and len(body["orders"]) == 1
    again = client.post("/api/v1/checkout/", request, format="json", **k)
    assert again.status_code == 201 and again.json() == body
    assert Order.objects.count() == 1 and Product.objects.get(pk=product.pk).stock == 1
    other = client.post("/api/v1/checkout/", {"shipping_address_id": str(buyer.addresses.get().pk)}, format="json", **k)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_insufficient_stock_is_a_409_naming_the_lines(product):
    buyer = buyer_with_cart({product: 1})
    add_cart_line_unchecked(buyer, product, 5)
    r = _checkout(buyer)
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "insufficient_stock" and body["lines"][0]["available"] == 3 and body["detail"]


def test_order_pipeline_over_rest_with_access_per_object(product):
    buyer = buyer_with_cart({product: 1})
    order_id = _checkout(buyer).json()["orders"][0]["id"]
    buyer_client, vendor_client = client_for(buyer), client_for(product.vendor.owner)
    r = buyer_client.post(f"/api/v1/orders/{order_id}/payments/", {"method": "card", "card_token": "tok_visa"},
                          format="json", **key())
    assert r.status_code == 201 and r.json()["status"] == "succeeded"
    detail = buyer_client.get(f"/api/v1/orders/{order_id}/").json()
    assert detail["status"] == "paid" and detail["allowed_transitions"] == ["cancelled"]
    assert vendor_client.get(f"/api/v1/orders/{order_id}/").json()["allowed_transitions"] == ["cancelled", "processing"]
    r = vendor_client.post(f"/api/v1/orders/{order_id}/status/", {"status": "delivered"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = buyer_client.post(f"/api/v1/orders/{order_id}/status/", {"status": "processing"}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "transition_not_allowed"
    r = vendor_client.post(f"/api/v1/orders/{order_id}/status/", {"status": "processing"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "processing"
    stranger = client_for(VendorFactory().owner)
    assert stranger.get(f"/api/v1/orders/{order_id}/").status_code == 404
    r = stranger.post(f"/api/v1/orders/{order_id}/status/", {"status": "ready_for_pickup"}, format="json")
    assert r.status_code == 404 and Order.objects.get(pk=order_id).status == "processing"
    assert stranger.get("/api/v1/vendor/orders/").json()["results"] == []
    assert [o["id"] for o in vendor_client.get("/api/v1/vendor/orders/?status=processing").json()["results"]] == [order_id]
    assert [o["id"] for o in buyer_client.get("/api/v1/orders/").json()["results"]] == [order_id]
    assert buyer_client.get("/api/v1/orders/?status=nope").status_code == 400


def test_refund_and_cancel_over_rest(product):
    buyer = buyer_with_cart({product: 2})
    funded_wallet(buyer, "100.00")
    order_id = _checkout(buyer).json()["orders"][0]["id"]
    client_for(buyer).post(f"/api/v1/orders/{order_id}/payments/", {"method": "wallet"}, format="json", **key())
    vendor_client = client_for(product.vendor.owner)
    r = vendor_client.post(f"/api/v1/orders/{order_id}/refunds/", {"amount": "5.001"}, format="json", **key())
    assert r.status_code == 400 and r.json()["code"] == "invalid_amount"
    r = vendor_client.post(f"/api/v1/orders/{order_id}/refunds/", {"amount": "5.00", "reason": "late"}, format="json", **key())
    assert r.status_code == 201 and r.json()["order"]["refunded_total"] == "5.00"
    r = client_for(buyer).post(f"/api/v1/orders/{order_id}/refunds/", {}, format="json", **key())
    assert r.status_code == 403 and r.json()["code"] == "refund_not_allowed"
    r = client_for(buyer).post(f"/api/v1/orders/{order_id}/cancel/", {"reason": "no longer needed"}, format="json", **key())
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["refunded_total"] == "30.00"
    assert Wallet.objects.get(user=buyer).balance == Decimal("100.00")


def test_webhook_endpoint_verifies_signatures_and_ignores_duplicates(product):
    buyer = buyer_with_cart({product: 1})
    order_id = _checkout(buyer).json()["orders"][0]["id"]
    r = client_for(buyer).post(f"/api/v1/orders/{order_id}/payments/", {"method": "card", "card_token": "tok_pending"},
                               format="json", **key())
    assert r.json()["status"] == "pending"
    intent = Payment.objects.get(pk=r.json()["id"]).intent_id
    body, headers = GATEWAYS["test"].build_webhook(intent_id=intent, succeeded=True)
    anon = client_for(UserFactory())
    anon.credentials()  # no Authorization: the signature authenticates the gateway
    bad = anon.post("/api/v1/payments/webhooks/test/", body, content_type="application/json",
                    HTTP_GATEWAY_SIGNATURE="t=1,v1=00")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_signature"
    assert Order.objects.get(pk=order_id).status == "pending_payment"
    ok = anon.post("/api/v1/payments/webhooks/test/", body, content_type="application/json",
                   HTTP_GATEWAY_SIGNATURE=headers["Gateway-Signature"])
    dup = anon.post("/api/v1/payments/webhooks/test/", body, content_type="application/json",
                    HTTP_GATEWAY_SIGNATURE=headers["Gateway-Signature"])
    assert ok.json()["result"] == "payment_succeeded" and dup.json()["result"] == "duplicate"
    assert Order.objects.get(pk=order_id).status == "paid"
    assert anon.post("/api/v1/payments/webhooks/nope/", body, content_type="application/json").status_code == 404


def test_wallet_deposit_and_ledger_over_rest():
    user = UserFactory()
    client = client_for(user)
    r = client.post("/api/v1/wallet/deposits/", {"amount": "20.50", "card_token": "tok_visa"}, format="json", **key())
    assert r.status_code == 201 and r.json()["status"] == "succeeded" and r.json()["wallet"]["balance"] == "20.50"
    for bad in ("-3", "abc", "1.234", "0"):
        r = client.post("/api/v1/wallet/deposits/", {"amount": bad, "card_token": "tok_visa"}, format="json", **key())
        assert r.status_code == 400 and r.json()["code"] == "invalid_amount", bad
    body = client.get("/api/v1/wallet/").json()
    assert body["balance"] == "20.50" and body["ledger"][0]["kind"] == "deposit"
    assert client.get("/api/v1/wallet/ledger/").json()["results"][0]["amount"] == "20.50"
    assert client.get("/api/v1/wallet/?currency=E1").status_code == 400


def test_schema_documents_the_flows(api_client):
    schema = api_client.get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/checkout/", "/api/v1/orders/{order_id}/payments/", "/api/v1/orders/{order_id}/status/",
                 "/api/v1/orders/{order_id}/refunds/", "/api/v1/payments/webhooks/{gateway}/", "/api/v1/wallet/",
                 "/api/v1/wallet/deposits/", "/api/v1/vendor/orders/"):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/v1/checkout/"]["post"].get("parameters", [])}
    assert "Idempotency-Key" in params


@pytest.mark.django_db(transaction=True)
def test_same_idempotency_key_sent_50_times_concurrently_charges_once(product):
    buyer = buyer_with_cart({product: 1})
    funded_wallet(buyer, "100.00")
    order_id = _checkout(buyer).json()["orders"][0]["id"]
    k = key()
    barrier = threading.Barrier(50)
    responses: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def pay() -> None:
        client = client_for(buyer)
        barrier.wait()
        try:
            r = client.post(f"/api/v1/orders/{order_id}/payments/", {"method": "wallet"}, format="json", **k)
            with lock:
                responses.append((r.status_code, json.loads(r.content)))
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(responses) == 50
    assert {status for status, _ in responses} == {201}
    assert len({body["id"] for _, body in responses}) == 1
    assert Payment.objects.filter(order_id=order_id).count() == 1
    assert LedgerEntry.objects.filter(wallet__user=buyer, kind="payment").count() == 1
    assert Wallet.objects.get(user=buyer).balance == Decimal("85.00")
