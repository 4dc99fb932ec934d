"""The delivery machine through ``delivery.services``, table-driven over the map: whoever carries
the delivery reports each status from every status, completes it with the PIN, a courier claims
it and the order's cancellation cancels it; every move the map refuses answers exactly the one
``invalid_transition`` body and every legal move is made. Each row runs in a rolled-back
savepoint, with the order in the status that goes with the delivery's."""

from __future__ import annotations

import pytest

from commerce.orders.models import Order
from commerce.orders.services import lock_order
from core.exceptions import Conflict, NotFound
from core.fsm import InvalidTransition
from delivery import services
from delivery.models import DELIVERY_MACHINE, Delivery, DeliveryStatus
from tests.conftest import attempt_rolled_back, invalid_transition_body
from tests.factories.delivery import courier, ready_delivery

pytestmark = pytest.mark.django_db

S = DeliveryStatus
CARRIED = {S.PICKED_UP, S.EN_ROUTE, S.ARRIVING}


def _as(delivery, status, *, carrier):
    """Put the delivery in ``status`` (claimed by ``carrier`` unless pending) and its order in the
    matching status."""
    Delivery.objects.filter(pk=delivery.pk).update(status=status, courier=None if status == S.PENDING else carrier)
    Order.objects.filter(pk=delivery.order_id).update(
        status="out_for_delivery" if status in CARRIED else "ready_for_pickup")


def _move(delivery, to_status, carrier):
    if to_status == S.DELIVERED:
        pin = Delivery.objects.get(pk=delivery.pk).pin
        try:
            return services.delivery_complete(courier=carrier, delivery_id=delivery.pk, pin=pin).status
        except NotFound as exc:
            return exc.code
    if to_status == S.ASSIGNED:
        try:
            return services.delivery_claim(courier=carrier, delivery_id=delivery.pk).status
        except Conflict as exc:
            return exc.code  # already_claimed: someone carries it (a race, not a move the client chose)
    if to_status == S.CANCELLED:
        cancelled = services.delivery_cancel_for_order(order=lock_order(delivery.order_id), reason="test")
        return cancelled.status if cancelled else None
    try:
        return services.delivery_set_status(courier=carrier, delivery_id=delivery.pk, status=to_status,
                                            reason="flat tyre").status
    except NotFound as exc:
        return exc.code  # nobody carries a pending delivery: there is no one to report for it


def _detail(from_status, to_status):
    if to_status == S.DELIVERED:
        return f"A delivery cannot be completed while {from_status}."
    return f"A delivery cannot go from {from_status} to {to_status}."


@pytest.mark.parametrize("from_status", sorted(DELIVERY_MACHINE.states))
def test_every_move_from_every_status(from_status):
    delivery, carrier = ready_delivery(method="wallet"), courier()
    for to_status in sorted(DELIVERY_MACHINE.states):
        def move(t=to_status):
            _as(delivery, from_status, carrier=carrier)
            return _move(delivery, t, carrier)
        outcome = attempt_rolled_back(move)
        if DELIVERY_MACHINE.can(from_status, to_status):
            assert outcome == to_status, (from_status, to_status, outcome)
        elif to_status == S.ASSIGNED:
            assert outcome == "already_claimed"
        elif from_status == S.PENDING and to_status != S.CANCELLED:
            assert outcome == "delivery_not_found"
        elif to_status == S.CANCELLED and from_status in (S.DELIVERED, S.FAILED, S.CANCELLED):
            assert outcome is None  # nothing open to cancel: the order's cancellation moves nothing
        else:
            assert outcome.as_dict() == invalid_transition_body(DELIVERY_MACHINE, from_status, to_status,
                                                                _detail(from_status, to_status)), (from_status, to_status)


def test_claims_of_a_taken_delivery_say_already_claimed_and_of_a_withdrawn_one_invalid_transition():
    delivery, first = ready_delivery(method="wallet"), courier()
    services.delivery_claim(courier=first, delivery_id=delivery.pk)
    with pytest.raises(Conflict) as taken:
        services.delivery_claim(courier=courier(), delivery_id=delivery.pk)
    assert taken.value.code == "already_claimed"
    other = ready_delivery(method="wallet")
    Delivery.objects.filter(pk=other.pk).update(status=S.CANCELLED)
    with pytest.raises(InvalidTransition) as withdrawn:
        services.delivery_claim(courier=courier(), delivery_id=other.pk)
    assert withdrawn.value.as_dict() == invalid_transition_body(DELIVERY_MACHINE, "cancelled", "assigned",
                                                                "A delivery cannot go from cancelled to assigned.")
