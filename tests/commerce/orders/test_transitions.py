"""The order, checkout and reservation machines through their owners' services, table-driven over
the maps: every illegal move answers exactly the one ``invalid_transition`` body, every legal move
is made (through the door that owns it: a person's request, or the system's).

Each move runs in a savepoint that is rolled back, so every pair starts from the same paid order
(paid from a wallet: refunds of a cancellation move only ledger rows)."""

from __future__ import annotations

import pytest
from django.db import transaction

from commerce.orders import checkout as checkouts
from commerce.orders import services as order_services
from commerce.orders.models import (
    CHECKOUT_MACHINE,
    ORDER_MACHINE,
    Checkout,
    CheckoutStatus,
    Order,
    ReservationStatus,
    StockReservation,
)
from commerce.orders.permissions import SYSTEM_ONLY
from core.fsm import InvalidTransition
from tests.conftest import attempt_rolled_back, client_for, invalid_transition_body
from tests.factories.commerce import ProductFactory
from tests.factories.core import AdminFactory
from tests.factories.orders import buyer_with_cart, checkout_for, paid_order

pytestmark = pytest.mark.django_db


def test_every_order_move_of_the_map_through_the_services():
    order = paid_order()
    admin = AdminFactory()
    refused, made = [], []
    for from_status in sorted(ORDER_MACHINE.states):
        for to_status in sorted(ORDER_MACHINE.states):
            def move(f=from_status, t=to_status):
                Order.objects.filter(pk=order.pk).update(status=f)
                if t in SYSTEM_ONLY or not ORDER_MACHINE.can(f, t):
                    moved = order_services.order_system_transition(order_id=order.pk, to_status=t, reason="test")
                else:
                    moved = order_services.order_transition(user=admin, order_id=order.pk, to_status=t)
                return Order.objects.get(pk=moved.pk).status
            outcome = attempt_rolled_back(move)
            if ORDER_MACHINE.can(from_status, to_status):
                assert outcome == to_status, (from_status, to_status, outcome)
                made.append((from_status, to_status))
            else:
                assert isinstance(outcome, InvalidTransition), (from_status, to_status, outcome)
                assert outcome.as_dict() == invalid_transition_body(ORDER_MACHINE, from_status, to_status,
                                                  f"An order cannot go from {from_status} to {to_status}.")
                refused.append((from_status, to_status))
    assert len(made) == sum(len(v) for v in ORDER_MACHINE.transitions.values())
    assert len(made) + len(refused) == len(ORDER_MACHINE.states) ** 2


def test_a_person_asking_for_an_illegal_or_unknown_move_gets_the_body_over_rest():
    order = paid_order()
    buyer = client_for(order.buyer)
    r = buyer.post(f"/api/v1/orders/{order.pk}/status/", {"status": "delivered"}, format="json")
    assert r.status_code == 409
    assert r.json() == invalid_transition_body(ORDER_MACHINE, "paid", "delivered", "An order cannot go from paid to delivered.")
    r = buyer.post(f"/api/v1/orders/{order.pk}/status/", {"status": "teleported"}, format="json")
    assert r.status_code == 409
    assert r.json() == invalid_transition_body(ORDER_MACHINE, "paid", "teleported", "Unknown order status 'teleported'.")
    r = client_for(AdminFactory()).post(f"/api/v1/orders/{order.pk}/status/", {"status": "refunded"}, format="json")
    assert (r.status_code, r.json()["code"]) == (403, "transition_not_allowed")  # legal, but the system's
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_every_checkout_status_and_the_buyers_cancel():
    product = ProductFactory(stock=5)
    buyer = buyer_with_cart({product: 1})
    checkout = checkout_for(buyer=buyer)
    for from_status in sorted(CHECKOUT_MACHINE.states):
        def cancel(f=from_status):
            Checkout.objects.filter(pk=checkout.pk).update(status=f)
            return checkouts.checkout_cancel(buyer=buyer, checkout_id=checkout.pk).status
        outcome = attempt_rolled_back(cancel)
        if from_status == CheckoutStatus.ACTIVE:
            assert outcome == CheckoutStatus.CANCELLED
        else:
            assert outcome.as_dict() == invalid_transition_body(CHECKOUT_MACHINE, from_status, "cancelled",
                                              f"A checkout cannot go from {from_status} to cancelled.")
        def complete(f=from_status):
            Checkout.objects.filter(pk=checkout.pk).update(status=f)
            Order.objects.filter(checkout=checkout).update(status="paid")
            return checkouts.checkout_complete_if_paid(checkout_id=checkout.pk)
        assert attempt_rolled_back(complete) is (from_status == CheckoutStatus.ACTIVE)  # an ended checkout never moves again
    assert checkouts.checkout_complete_if_paid(checkout_id=checkout.pk) is False  # its order is still unpaid


def test_only_active_reservations_are_released_or_consumed():
    order = paid_order()
    reservation = StockReservation.objects.get(order=order)
    assert reservation.status == ReservationStatus.CONSUMED
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        assert order_services.release_reservations(orders=[locked], reason="test") == 0
        assert order_services.reservations_consume(order=locked) == 0
    StockReservation.objects.filter(pk=reservation.pk).update(status=ReservationStatus.ACTIVE)
    with transaction.atomic():
        assert order_services.release_reservations(orders=[Order.objects.select_for_update().get(pk=order.pk)],
                                                   reason="test") == 1
    assert StockReservation.objects.get(pk=reservation.pk).status == ReservationStatus.RELEASED
