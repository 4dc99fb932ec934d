"""Races on one order's money, with real threads on real PostgreSQL: the release sweep against a
dispute being opened at the window's edge, two staff resolving one dispute, the sweep running
twice at once, and a receipt confirmation against a dispute. Each ends in exactly one outcome and
the money moves once (the order lock serialises them; each re-checks under it)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from commerce.disputes import services as disputes
from commerce.disputes.models import Dispute
from commerce.payments import escrow
from commerce.payments.models import Refund
from commerce.wallet.models import Escrow, LedgerEntry
from tests.factories.core import AdminFactory
from tests.factories.delivery import delivered_order
from tests.factories.disputes import DisputeFactory
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_release_sweep_racing_a_dispute_at_the_window_edge_has_one_outcome():
    """The buyer's request arrived a second before the deadline, the sweep runs a second after:
    either the dispute is open and nothing is paid, or the money is paid and the dispute is
    refused — never both, never neither. Five orders, so both orders of arrival get exercised."""
    outcomes = Counter()
    for _ in range(5):
        order = delivered_order(price="20.00")
        edge = Escrow.objects.get(order=order).release_after
        released, opened = race(
            lambda: escrow.escrow_release_due(order_id=order.pk, now=edge + timedelta(seconds=1)),
            lambda: disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged",
                                          description="Cracked", now=edge - timedelta(seconds=1)).pk,
        )
        payouts = LedgerEntry.objects.filter(kind="payout", reference=f"order:{order.pk}").count()
        held = Escrow.objects.get(order=order)
        if released is True:
            assert opened == "protection_ended" and payouts == 1 and held.status == "released"
            assert not Dispute.objects.filter(order=order).exists()
            outcomes["released"] += 1
        else:
            assert released is False and Dispute.objects.get(order=order).pk == opened
            assert payouts == 0 and held.status == "held"
            outcomes["disputed"] += 1
    assert sum(outcomes.values()) == 5


def test_two_staff_resolving_one_dispute_give_one_resolution():
    dispute = DisputeFactory(order=delivered_order(price="30.00"))
    a, b = AdminFactory(), AdminFactory()
    results = race(
        lambda: disputes.dispute_resolve(user=a, dispute_id=dispute.pk, resolution="refund").status,
        lambda: disputes.dispute_resolve(user=b, dispute_id=dispute.pk, resolution="release").status,
    )
    winners = [r for r in results if r.startswith("resolved_")]
    assert len(winners) == 1 and [r for r in results if r not in winners] == ["invalid_transition"]
    winner = winners[0]
    dispute.refresh_from_db()
    assert dispute.status == winner
    refunds = Refund.objects.filter(payment__order=dispute.order).count()
    payouts = LedgerEntry.objects.filter(kind="payout", reference=f"order:{dispute.order_id}").count()
    assert (refunds, payouts) == ((1, 0) if winner == "resolved_refund" else (0, 1))


def test_the_release_sweep_run_twice_at_once_pays_each_store_once():
    orders = [delivered_order(price="15.00") for _ in range(3)]
    due = max(Escrow.objects.get(order=o).release_after for o in orders)
    first, second = race(lambda: escrow.escrows_release_due(now=due), lambda: escrow.escrows_release_due(now=due))
    assert first["released"] + second["released"] == 3 and first["failed"] == second["failed"] == 0
    for o in orders:
        assert LedgerEntry.objects.filter(kind="payout", reference=f"order:{o.pk}").count() == 1
        assert LedgerEntry.objects.filter(kind="commission", reference=f"order:{o.pk}").count() == 1


def test_confirming_receipt_while_a_dispute_opens_has_one_outcome():
    order = delivered_order(price="25.00")
    confirmed, opened = race(
        lambda: escrow.escrow_confirm_receipt(user=order.buyer, order_id=order.pk).pk,
        lambda: disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Dent").pk,
    )
    payouts = LedgerEntry.objects.filter(kind="payout", reference=f"order:{order.pk}").count()
    if confirmed == order.pk:
        assert opened == "protection_ended" and payouts == 1
    else:
        assert confirmed == "dispute_open" and payouts == 0 and Dispute.objects.filter(order=order).count() == 1
