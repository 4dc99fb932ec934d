"""Concurrent cart writes on real PostgreSQL with real threads (committed transactions)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from commerce.cart.models import Cart, CartItem
from commerce.cart.services import cart_add_item
from commerce.catalog.services import product_update
from core.exceptions import ApplicationError
from tests.commerce.conftest import cart_events
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n, target):
    """Start ``n`` threads on a barrier; return [(ok: bool, code or None)]."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=10)
            target(i)
            results[i] = (True, None)
        except ApplicationError as exc:
            results[i] = (False, exc.code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = (False, repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results


def test_ten_threads_adding_to_one_cart_end_with_version_equal_to_changes():
    user = UserFactory()
    products = [ProductFactory(stock=100) for _ in range(3)]

    results = run_threads(10, lambda i: cart_add_item(user=user, product_id=products[i % 3].pk, quantity=1))

    assert results == [(True, None)] * 10
    cart = Cart.objects.get(user=user)
    assert cart.version == 10
    assert sum(CartItem.objects.filter(cart=cart).values_list("quantity", flat=True)) == 10
    events = cart_events(user)
    assert sorted(e.data["version"] for e in events) == list(range(1, 11))
    assert [e.data["version"] for e in events] == list(range(1, 11))  # outbox order == commit order
    assert events[-1].data["item_count"] == 10


def test_two_threads_adding_the_last_unit_one_wins():
    user = UserFactory()
    product = ProductFactory(stock=1)

    results = run_threads(2, lambda i: cart_add_item(user=user, product_id=product.pk, quantity=1))

    assert sorted(results, key=str) == sorted([(True, None), (False, "insufficient_stock")], key=str)
    cart = Cart.objects.get(user=user)
    assert CartItem.objects.get(cart=cart).quantity == 1
    assert cart.version == 1
    assert len(cart_events(user)) == 1


def test_ten_threads_against_stock_five_exactly_five_succeed():
    user = UserFactory()
    product = ProductFactory(stock=5)

    results = run_threads(10, lambda i: cart_add_item(user=user, product_id=product.pk, quantity=1))

    oks = [r for r in results if r[0]]
    assert len(oks) == 5
    assert {r[1] for r in results if not r[0]} == {"insufficient_stock"}
    cart = Cart.objects.get(user=user)
    assert cart.version == 5 == len(cart_events(user))
    assert CartItem.objects.get(cart=cart).quantity == 5


def test_price_change_racing_cart_adds_leaves_every_cart_with_the_new_price():
    product = ProductFactory(stock=100, price="10.00")
    vendor_user = product.vendor.owner
    buyers = [UserFactory() for _ in range(6)]

    def work(i):
        if i == 6:
            product_update(user=vendor_user, product_id=product.pk, price=Decimal("7.77"))
        else:
            cart_add_item(user=buyers[i], product_id=product.pk, quantity=1)

    results = run_threads(7, work)

    assert results == [(True, None)] * 7
    for buyer in buyers:
        events = cart_events(buyer)
        latest = max(events, key=lambda e: e.data["version"])
        assert latest.data["lines"][0]["unit_price"] == "7.77", [e.data for e in events]
        assert latest.data["version"] == Cart.objects.get(user=buyer).version
