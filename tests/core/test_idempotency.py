"""``core.idempotency`` on real endpoints: replay, mismatch, stored client errors with their
writes rolled back, faults that store nothing, per-user keys, expiry and purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.orders.models import Checkout, Order
from core.models import IdempotencyKey
from core.tasks import purge_idempotency_keys
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory
from tests.factories.orders import add_cart_line_unchecked, buyer_with_cart, shipping_choice

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkout/"


def buyer_client(buyer):
    """``client_for(buyer)`` that remembers its buyer (for the checkout body)."""
    client = client_for(buyer)
    client.buyer = buyer
    return client


def post(client, key, body=None):
    """Check out with ``body``, by default the cheapest shipping method of each store."""
    if body is None:
        body = {"shipping_methods": shipping_choice(client.buyer)}
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.parametrize("bad", ["", "with space", "x" * 256, "tab\tkey", "ünïcode"])
def test_malformed_keys_are_400(bad):
    buyer = buyer_with_cart({ProductFactory(stock=2): 1})
    r = post(buyer_client(buyer), bad)
    assert r.status_code == 400 and r.json()["code"] == "invalid_idempotency_key"
    assert not Order.objects.exists()


def test_a_client_error_is_stored_and_replayed_even_after_the_state_changed():
    product = ProductFactory(stock=2)
    buyer = buyer_with_cart({})
    client = buyer_client(buyer)
    first = post(client, "k-empty", {})
    assert first.status_code == 409 and first.json()["code"] == "cart_empty"
    buyer_with_cart({product: 1}, buyer=buyer)
    again = post(client, "k-empty", {})
    assert again.status_code == 409 and again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert post(client, "k-new").status_code == 201


def test_writes_of_a_refused_request_are_rolled_back():
    product = ProductFactory(stock=2)
    buyer = buyer_with_cart({product: 1})
    client = buyer_client(buyer)
    assert post(client, "a").status_code == 201
    active = Checkout.objects.get(status="active")
    add_cart_line_unchecked(buyer, product, 9)  # the new checkout replaces the old, then fails on stock
    r = post(client, "b")
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock"
    active.refresh_from_db()
    assert active.status == "active"  # replacing it was rolled back with the refusal
    assert IdempotencyKey.objects.get(key="b").response_status == 409


def test_a_server_fault_stores_nothing_and_the_retry_runs(monkeypatch):
    from commerce.orders import checkout as checkouts

    buyer = buyer_with_cart({ProductFactory(stock=2): 1})
    client = buyer_client(buyer)
    original = checkouts.checkout_create

    def broken(**kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(checkouts, "checkout_create", broken)
    with pytest.raises(RuntimeError):
        post(client, "retry-me")
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    monkeypatch.setattr(checkouts, "checkout_create", original)
    assert post(client, "retry-me").status_code == 201


def test_keys_are_per_user():
    product = ProductFactory(stock=5)
    a, b = buyer_with_cart({product: 1}), buyer_with_cart({product: 1})
    ra, rb = post(buyer_client(a), "shared"), post(buyer_client(b), "shared")
    assert ra.status_code == rb.status_code == 201 and ra.json()["id"] != rb.json()["id"]


def test_expired_keys_run_again_and_are_purged():
    product = ProductFactory(stock=5)
    buyer = buyer_with_cart({product: 1})
    client = buyer_client(buyer)
    first = post(client, "old").json()
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    second = post(client, "old")
    assert second.status_code == 201 and second.json()["id"] != first["id"] and "Idempotent-Replayed" not in second
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    post(buyer_client(buyer), "fresh")
    assert purge_idempotency_keys.apply().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
