"""``core.fsm``: one state-machine mechanism, one 409 body, one owner per machine.

Table-driven over every map of the project: each (from, to) pair the map forbids is refused with
exactly ``{"code": "invalid_transition", "detail", "from", "to", "allowed"}``, each pair it
allows passes. The per-machine tests through the owners' services live beside each app
(``tests/*/test_transitions.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rest_framework.exceptions import APIException

from auctions.models import AUCTION_MACHINE
from commerce.disputes.models import DISPUTE_MACHINE
from commerce.orders.models import CHECKOUT_MACHINE, ORDER_MACHINE, RESERVATION_MACHINE
from commerce.payouts.models import BANK_DETAILS_MACHINE, WITHDRAWAL_MACHINE
from commerce.stores.models import INVITATION_MACHINE, VENDOR_MACHINE
from core.exceptions import api_exception_handler, to_application_error
from core.fsm import InvalidTransition, StateMachine
from delivery.models import DELIVERY_MACHINE
from support.models import TICKET_MACHINE

ROOT = Path(__file__).resolve().parents[2]

#: every machine of the project and the one module that may check or refuse its moves
OWNERS = {
    "VENDOR_MACHINE": (VENDOR_MACHINE, "commerce/stores/services.py"),
    "ORDER_MACHINE": (ORDER_MACHINE, "commerce/orders/services.py"),
    "CHECKOUT_MACHINE": (CHECKOUT_MACHINE, "commerce/orders/checkout.py"),
    "RESERVATION_MACHINE": (RESERVATION_MACHINE, "commerce/orders/services.py"),
    "AUCTION_MACHINE": (AUCTION_MACHINE, "auctions/services.py"),
    "DELIVERY_MACHINE": (DELIVERY_MACHINE, "delivery/services.py"),
    "DISPUTE_MACHINE": (DISPUTE_MACHINE, "commerce/disputes/services.py"),
    "INVITATION_MACHINE": (INVITATION_MACHINE, "commerce/stores/staff.py"),
    "BANK_DETAILS_MACHINE": (BANK_DETAILS_MACHINE, "commerce/payouts/services.py"),
    "WITHDRAWAL_MACHINE": (WITHDRAWAL_MACHINE, "commerce/payouts/services.py"),
    "TICKET_MACHINE": (TICKET_MACHINE, "support/services.py"),
}


def _pairs():
    for name, (machine, _) in OWNERS.items():
        for a in sorted(machine.states):
            for b in sorted(machine.states):
                yield pytest.param(machine, a, b, id=f"{name}:{a}->{b}")


@pytest.mark.parametrize("machine,from_status,to_status", list(_pairs()))
def test_every_pair_of_every_map_is_allowed_or_refused_with_the_one_body(machine, from_status, to_status):
    legal = to_status in machine.transitions.get(from_status, frozenset())
    assert machine.can(from_status, to_status) is legal
    if legal:
        machine.check(from_status, to_status)
        assert from_status in machine.sources(to_status)
        return
    with pytest.raises(InvalidTransition) as refused:
        machine.check(from_status, to_status)
    err = refused.value
    assert (err.status, err.code) == (409, "invalid_transition")
    assert err.as_dict() == {"code": "invalid_transition", "detail": err.detail, "from": from_status,
                             "to": to_status, "allowed": sorted(machine.transitions.get(from_status, ()))}
    assert from_status in err.detail and to_status in err.detail
    assert from_status not in machine.sources(to_status)


def test_a_guard_leaves_its_refused_moves_out_of_allowed_and_unknown_states_have_no_moves():
    m = StateMachine("auction", {"pending": {"scheduled", "live", "cancelled"}})
    body = m.refusal("pending", "scheduled", detail="The end has passed.", refused=("scheduled", "live")).as_dict()
    assert body == {"code": "invalid_transition", "detail": "The end has passed.", "from": "pending",
                    "to": "scheduled", "allowed": ["cancelled"]}
    assert m.allowed("nowhere") == [] and m.allowed(None) == [] and not m.can(None, "pending")
    assert m.refusal("pending", "bogus").as_dict()["detail"] == "An auction cannot go from pending to bogus."


def test_rest_and_socket_error_replies_carry_the_same_body():
    """The DRF handler renders ``as_dict()``; the gateway's error reply is ``{code, detail,
    fields?, **extra}`` of the same ApplicationError (``realtime.consumers``)."""
    err = ORDER_MACHINE.refusal("paid", "delivered")
    rest = api_exception_handler(err, {})
    assert rest.status_code == 409
    socket_error = {"code": err.code, "detail": err.detail, **err.extra}
    assert rest.data == socket_error == {"code": "invalid_transition", "detail": "An order cannot go from paid to delivered.",
                                         "from": "paid", "to": "delivered",
                                         "allowed": ["cancelled", "processing", "refunded"]}
    assert to_application_error(err) is err and not isinstance(err, APIException)


def test_only_the_owner_checks_or_refuses_its_machine():
    """``.check(``, ``.refusal(`` and ``.sources(`` (the bulk moves' filter) of a machine appear in
    its owner module only; reads (``can``, ``allowed``) are free."""
    offenders = []
    for app in ("core", "realtime", "notifications", "commerce", "auctions", "delivery", "chat", "support", "threads",
                "simulator"):
        for path in (ROOT / app).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            for name, (_, owner) in OWNERS.items():
                if re.search(rf"\b{name}\.(check|refusal|sources)\(", path.read_text()) and rel != owner:
                    offenders.append(f"{rel} moves {name} (owner: {owner})")
    assert offenders == []
    for name, (_, owner) in OWNERS.items():
        assert re.search(rf"\b{name}\.(check|refusal|sources)\(", (ROOT / owner).read_text()), f"{owner} never checks {name}"
