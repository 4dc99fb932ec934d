"""Invoice numbers under concurrency, with real threads on PostgreSQL: 20 buyers pay 20 orders
of one store at once, and the store's invoice series is 1..20 without a gap or a duplicate."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from commerce.invoices.models import Invoice
from commerce.payments import services as payments
from tests.commerce.invoices.helpers import checked_out, taxed_store
from tests.factories.orders import funded_wallet

PAYERS = 20


@pytest.mark.django_db(transaction=True)
def test_20_concurrent_payments_number_the_stores_invoices_1_to_20():
    store, other = taxed_store(), taxed_store()
    orders = [checked_out(store) for _ in range(PAYERS)]
    for order in orders:
        funded_wallet(order.buyer, order.total)
    start = threading.Barrier(PAYERS)
    errors: list[BaseException] = []

    def pay(order) -> None:
        try:
            connection.ensure_connection()
            start.wait()
            payments.payment_create(user=order.buyer, order_id=order.id, method="wallet")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    invoices = Invoice.objects.filter(vendor=store)
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, PAYERS + 1))
    assert len(set(invoices.values_list("number", flat=True))) == PAYERS
    assert set(invoices.values_list("order_id", flat=True)) == {o.pk for o in orders}
    assert not Invoice.objects.filter(vendor=other).exists()
