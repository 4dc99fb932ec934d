"""The return machine through ``commerce.returns.services``, table-driven over the map: every move
a person asks for (the store's approve, reject, receive, inspect and refund; the buyer's ship and
cancel) from every status. The map's refusals answer exactly the one ``invalid_transition``
body; its legal moves are made. Each row runs in a rolled-back savepoint."""

from __future__ import annotations

import pytest

from commerce.returns import services
from commerce.returns.models import RETURN_MACHINE, ReturnLine, ReturnPolicy, ReturnRequest, ReturnStatus
from tests.conftest import attempt_rolled_back, invalid_transition_body
from tests.factories.returns import delivered_order_of, requested

pytestmark = pytest.mark.django_db

S = ReturnStatus


def grades(rma):
    return [{"id": line.pk, "grade": "as_new"} for line in rma.lines.all()]


#: each move, who asks for it and how; refunds end where the grades and the fee lead
MOVES = {
    S.APPROVED: lambda r, o: services.return_approve(user=o.vendor.owner, return_id=r.pk),
    S.REJECTED: lambda r, o: services.return_reject(user=o.vendor.owner, return_id=r.pk, reason="Used."),
    S.CANCELLED: lambda r, o: services.return_cancel(user=o.buyer, return_id=r.pk),
    S.IN_TRANSIT: lambda r, o: services.return_ship(user=o.buyer, return_id=r.pk, transport="carrier", carrier="UPS",
                                                    tracking_number="1Z999"),
    S.RECEIVED: lambda r, o: services.return_receive(user=o.vendor.owner, return_id=r.pk),
    S.INSPECTED: lambda r, o: services.return_inspect(user=o.vendor.owner, return_id=r.pk, grades=grades(r)),
    S.REFUNDED: lambda r, o: services.return_refund(user=o.vendor.owner, return_id=r.pk),
    S.PARTIALLY_REFUNDED: lambda r, o: services.return_refund(user=o.vendor.owner, return_id=r.pk,
                                                              restocking_fee_percent="10"),
    S.REJECTED_AFTER_INSPECTION: lambda r, o: (ReturnLine.objects.filter(return_request=r).update(grade="damaged"),
                                               services.return_refund(user=o.vendor.owner, return_id=r.pk))[1],
}

#: the sentence of a refusal where the owner says more than the map
DETAILS = {
    (S.REQUESTED, S.IN_TRANSIT): "The store has not approved this return yet.",
}


def detail(from_status, to_status):
    if to_status in (S.REFUNDED, S.PARTIALLY_REFUNDED, S.REJECTED_AFTER_INSPECTION) and from_status != S.INSPECTED:
        return f"A return is refunded once it is inspected; this one is {from_status}."
    return DETAILS.get((from_status, to_status), f"A return cannot go from {from_status} to {to_status}.")


@pytest.mark.parametrize("from_status", sorted(RETURN_MACHINE.states))
def test_every_move_from_every_status(from_status):
    order = delivered_order_of([("10.00", 1)])
    ReturnPolicy.objects.create(vendor=order.vendor, restocking_fee_max_percent=10)
    rma = requested(order)
    ReturnLine.objects.filter(return_request=rma).update(grade="as_new")
    assert set(MOVES) == set(RETURN_MACHINE.states) - {S.REQUESTED}  # nothing moves a return back to requested
    for to_status, move in MOVES.items():
        def attempt(m=move):
            ReturnRequest.objects.filter(pk=rma.pk).update(status=from_status)
            return m(rma, order).status
        outcome = attempt_rolled_back(attempt)
        if RETURN_MACHINE.can(from_status, to_status):
            assert outcome == to_status, (from_status, to_status, outcome)
        else:
            asked = S.REFUNDED if to_status in (S.PARTIALLY_REFUNDED, S.REJECTED_AFTER_INSPECTION) else to_status
            assert outcome.as_dict() == invalid_transition_body(RETURN_MACHINE, from_status, asked,
                                                                detail(from_status, to_status)), to_status
