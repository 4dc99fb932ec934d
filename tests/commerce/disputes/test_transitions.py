"""The dispute machine through ``commerce.disputes.services``, table-driven over the map: each
resolution (marketplace staff) and the buyer's withdrawal from every status; the map's refusals
answer exactly the one ``invalid_transition`` body, its legal moves are made. Each row runs in a
rolled-back savepoint."""

from __future__ import annotations

import pytest

from commerce.disputes import services
from commerce.disputes.models import DISPUTE_MACHINE, Dispute, DisputeStatus
from tests.conftest import attempt_rolled_back, invalid_transition_body
from tests.factories.core import AdminFactory
from tests.factories.delivery import delivered_order
from tests.factories.disputes import DisputeFactory

pytestmark = pytest.mark.django_db

#: each move a person asks for, and how
MOVES = {
    DisputeStatus.RESOLVED_RELEASE: lambda d, staff: services.dispute_resolve(user=staff, dispute_id=d.pk, resolution="release"),
    DisputeStatus.RESOLVED_PARTIAL_REFUND: lambda d, staff: services.dispute_resolve(
        user=staff, dispute_id=d.pk, resolution="partial_refund", amount="1.00"),
    DisputeStatus.RESOLVED_REFUND: lambda d, staff: services.dispute_resolve(user=staff, dispute_id=d.pk, resolution="refund"),
    DisputeStatus.WITHDRAWN: lambda d, staff: services.dispute_withdraw(user=d.order.buyer, dispute_id=d.pk),
}


@pytest.mark.parametrize("from_status", sorted(DISPUTE_MACHINE.states))
def test_every_resolution_and_the_withdrawal_from_every_status(from_status):
    dispute, staff = DisputeFactory(order=delivered_order(method="wallet")), AdminFactory()
    assert set(MOVES) == set(DISPUTE_MACHINE.states) - {DisputeStatus.OPEN}  # nothing moves a dispute back to open
    for to_status, move in MOVES.items():
        def attempt(m=move):
            Dispute.objects.filter(pk=dispute.pk).update(status=from_status)
            return m(dispute, staff).status
        outcome = attempt_rolled_back(attempt)
        if DISPUTE_MACHINE.can(from_status, to_status):
            assert outcome == to_status
        else:
            assert outcome.as_dict() == invalid_transition_body(DISPUTE_MACHINE, from_status, to_status,
                                                                f"This dispute is {from_status}."), to_status
