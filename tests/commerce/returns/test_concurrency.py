"""Races on one return, with real threads on real PostgreSQL (the order lock serialises them and
each re-checks under it): two inspections give one restock and one refund; a return refund
racing the escrow's release takes the money from wherever it is at that moment, exactly once, and
leaves the store with the same net amount either way; two requests for the last unit give one
return."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from commerce.catalog.models import Product
from commerce.payments import escrow
from commerce.payments.models import Refund
from commerce.returns import services
from commerce.returns.models import ReturnRequest
from commerce.wallet.models import Escrow, LedgerEntry, Wallet
from commerce.wallet.services import wallet_check_ledger
from tests.factories.commerce import VendorStaffFactory
from tests.factories.returns import delivered_order_of, received, requested
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def test_two_inspections_of_one_return_restock_once_and_refund_once():
    order = delivered_order_of([("12.00", 2)])
    rma = received(order)
    clerk = VendorStaffFactory(vendor=order.vendor).user
    product = Product.objects.get(pk=order.lines.get().product_id)
    grades = [{"id": line.pk, "grade": "as_new"} for line in rma.lines.all()]

    def inspect_and_refund(user):
        services.return_inspect(user=user, return_id=rma.pk, grades=grades)
        return services.return_refund(user=user, return_id=rma.pk).status

    results = race(lambda: inspect_and_refund(order.vendor.owner), lambda: inspect_and_refund(clerk))
    assert sorted(results) == ["invalid_transition", "refunded"]
    assert Product.objects.get(pk=product.pk).stock == product.stock + 2
    assert Refund.objects.filter(payment__order=order).count() == 1
    assert LedgerEntry.objects.filter(wallet__user=order.buyer, kind="refund").count() == 1
    rma.refresh_from_db()
    assert (rma.status, rma.refund_amount) == ("refunded", D("24.00"))
    assert list(rma.status_changes.values_list("to_status", flat=True)) == [
        "requested", "approved", "in_transit", "received", "inspected", "refunded"]


def test_two_refunds_of_one_inspected_return_pay_once():
    order = delivered_order_of([("12.00", 1)], method="card")
    rma = received(order)
    services.return_inspect(user=order.vendor.owner, return_id=rma.pk,
                            grades=[{"id": line.pk, "grade": "opened"} for line in rma.lines.all()])
    results = race(*[lambda: services.return_refund(user=order.vendor.owner, return_id=rma.pk).status] * 3)
    assert sorted(results) == ["invalid_transition", "invalid_transition", "refunded"]
    assert Refund.objects.filter(payment__order=order).count() == 1
    order.refresh_from_db()
    assert order.refunded_total == D("12.00")


def test_a_return_refund_racing_the_escrow_release_takes_the_money_once_from_the_right_place():
    """30.00 paid (20.00 + 10.00), the 10.00 line returned. Refund first: 10.00 out of the held
    escrow, then 20.00 released (2.00 commission). Release first: 30.00 released (3.00
    commission), then 10.00 back from the store's wallet as ``return_refund`` with 1.00 of
    commission given back. Either way the buyer gets 10.00 once and the store keeps 18.00."""
    seen = Counter()
    for _ in range(5):
        order = delivered_order_of([("20.00", 1), ("10.00", 1)])
        second = order.lines.order_by("id").last()
        rma = received(order, lines=[{"order_line_id": second.pk, "quantity": 1}], reason="damaged")
        services.return_inspect(user=order.vendor.owner, return_id=rma.pk,
                                grades=[{"id": line.pk, "grade": "damaged"} for line in rma.lines.all()])
        due = Escrow.objects.get(order=order).release_after + timedelta(seconds=1)
        released, refunded = race(lambda: escrow.escrow_release_due(order_id=order.pk, now=due),
                                  lambda: services.return_refund(user=order.vendor.owner, return_id=rma.pk).status)
        assert (released, refunded) == (True, "refunded")
        rma.refresh_from_db()
        store = Wallet.objects.get(user=order.vendor.owner, currency="EUR")
        kinds = list(LedgerEntry.objects.filter(wallet=store).order_by("id").values_list("kind", "amount"))
        if rma.refund_source == "escrow":
            assert kinds == [("payout", D("20.00")), ("commission", D("-2.00"))]
        else:
            assert rma.refund_source == "store_wallet"
            assert kinds == [("payout", D("30.00")), ("commission", D("-3.00")), ("commission", D("1.00")),
                             ("return_refund", D("-10.00"))]
        seen[rma.refund_source] += 1
        assert store.balance == D("18.00") and wallet_check_ledger(wallet=store).ok
        assert LedgerEntry.objects.filter(wallet__user=order.buyer, kind="refund").get().amount == D("10.00")
        assert Refund.objects.filter(payment__order=order).count() == 1
        held = Escrow.objects.get(order=order)
        assert held.status == "released"
    assert sum(seen.values()) == 5


def test_two_requests_for_the_last_unit_give_one_return():
    order = delivered_order_of([("9.00", 1)])
    results = race(*[lambda: requested(order).status] * 2)
    assert sorted(results) == ["quantity_exceeds_returnable", "requested"]
    assert ReturnRequest.objects.filter(order=order).count() == 1
