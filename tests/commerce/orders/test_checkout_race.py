"""Oversell races with real threads on PostgreSQL: 200 buyers check out the last unit at once."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from commerce.catalog.models import Product, ProductStockChange
from commerce.orders.models import Order, StockReservation
from core.exceptions import Conflict
from tests.factories.commerce import ProductFactory
from tests.factories.core import AddressFactory, UserFactory
from tests.factories.orders import add_cart_line_unchecked, checkout_for

#: worker threads, each with its own warm database connection (the embedded PostgreSQL allows
#: 100 connections and other processes share it): the 200 attempts run 40 at a time, all on the
#: same product row lock
DB_CONCURRENCY = 40


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_checkouts_of_the_last_unit_make_exactly_one_reservation():
    product = ProductFactory(stock=1, price="99.00")
    buyers = []
    for _ in range(200):
        buyer = UserFactory()
        AddressFactory(user=buyer, is_default_shipping=True)
        add_cart_line_unchecked(buyer, product, 1)
        buyers.append(buyer)
    attempts: queue.Queue = queue.Queue()
    for buyer in buyers:
        attempts.put(buyer)
    start = threading.Barrier(DB_CONCURRENCY + 1)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        """A request worker with a warm connection (as a server process keeps them)."""
        try:
            connection.ensure_connection()
            start.wait()
            while True:
                try:
                    buyer = attempts.get_nowait()
                except queue.Empty:
                    return
                try:
                    checkout_for(buyer=buyer)
                    result = "reserved"
                except Conflict as exc:
                    result = exc.code
                with lock:
                    outcomes[result] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(DB_CONCURRENCY)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    print(f"\n200-way checkout race: {200 / elapsed:.0f} checkouts/s ({elapsed:.2f} s), outcomes {dict(outcomes)}")
    assert outcomes == Counter({"reserved": 1, "insufficient_stock": 199})
    assert Product.objects.get(pk=product.pk).stock == 0
    assert StockReservation.objects.filter(status="active").count() == 1
    assert Order.objects.count() == 1
    assert ProductStockChange.objects.filter(product=product, reason="reservation").count() == 1
