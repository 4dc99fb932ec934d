"""One state-machine mechanism for every status field of the marketplace.

A :class:`StateMachine` is built from an explicit transition map ``{from: {to, ...}}`` (the
maps stay where they are, next to their models: ``VENDOR_TRANSITIONS``, ``ORDER_TRANSITIONS``,
``CHECKOUT_TRANSITIONS``, ``RESERVATION_TRANSITIONS``, ``AUCTION_TRANSITIONS``,
``DELIVERY_TRANSITIONS``, ``DISPUTE_TRANSITIONS``, ``RETURN_TRANSITIONS``). Each machine has one owner, the service
module that moves it (django-oscar's rule); only that module calls :meth:`StateMachine.check`
before it writes a new status. Why a helper and not django-fsm: docs/architecture.md, "State
machines".

Every refusal is one exception, :class:`InvalidTransition` (a ``Conflict``, HTTP 409), with one
body over REST and in socket error replies::

    {"code": "invalid_transition", "detail": "An order cannot go from paid to delivered.",
     "from": "paid", "to": "delivered", "allowed": ["cancelled", "processing", "refunded"]}

``allowed`` is what the map allows from ``from`` now (sorted), minus any move a guard of the
owner refuses at the moment (e.g. an auction whose end has passed cannot be scheduled any
more). Who may ask for a move is a different question, answered by the permission predicates
(``permissions.py`` of each app) with 403/404.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from core.exceptions import Conflict


class InvalidTransition(Conflict):
    """409 ``invalid_transition``: a move the state map (or a guard of its owner) does not allow.

    Body (REST and socket error reply): ``{"code": "invalid_transition", "detail", "from",
    "to", "allowed": [status, ...]}``; ``from`` is None when the object has no status yet."""

    code = "invalid_transition"

    def __init__(self, detail: str, *, from_status: str | None, to_status: str, allowed: Iterable[str]) -> None:
        self.from_status = from_status
        self.to_status = to_status
        self.allowed = sorted(str(s) for s in allowed)
        super().__init__(detail, extra={"from": _plain(from_status), "to": _plain(to_status), "allowed": self.allowed})


def _plain(status: str | None) -> str | None:
    return None if status is None else str(status)[:40]


class StateMachine:
    """The transition map of one kind of object (``name``: "order", "auction"...).

    ``transitions`` maps every status to the statuses it may move to; a status missing from the
    map (or an unknown target) has no moves. Immutable after construction."""

    def __init__(self, name: str, transitions: Mapping[str, Iterable[str]]) -> None:
        self.name = name
        self.transitions: dict[str, frozenset[str]] = {str(k): frozenset(str(t) for t in v) for k, v in transitions.items()}
        self.states: frozenset[str] = frozenset(self.transitions) | frozenset().union(*self.transitions.values())

    def allowed(self, from_status: str | None) -> list[str]:
        """The statuses ``from_status`` may move to, sorted (empty for a final or unknown status)."""
        return sorted(self.transitions.get(str(from_status), frozenset())) if from_status is not None else []

    def can(self, from_status: str | None, to_status: str) -> bool:
        """True when the map allows ``from_status -> to_status``."""
        return from_status is not None and str(to_status) in self.transitions.get(str(from_status), frozenset())

    def sources(self, to_status: str) -> list[str]:
        """The statuses from which ``to_status`` may be reached, sorted (the queryset form of the
        map: ``.filter(status__in=machine.sources(to))`` for bulk moves)."""
        return sorted(s for s, targets in self.transitions.items() if str(to_status) in targets)

    def refusal(self, from_status: str | None, to_status: str, *, detail: str | None = None,
                refused: Iterable[str] = ()) -> InvalidTransition:
        """The :class:`InvalidTransition` for ``from_status -> to_status`` (return it, the caller
        raises). ``refused`` names moves a guard of the owner refuses now (left out of
        ``allowed``); ``detail`` replaces the default sentence."""
        blocked = {str(s) for s in refused}
        allowed = [s for s in self.allowed(from_status) if s not in blocked]
        if detail is None:
            detail = f"A{'n' if self.name[:1] in 'aeiou' else ''} {self.name} cannot go from {from_status} to {to_status}."
        return InvalidTransition(detail, from_status=from_status, to_status=to_status, allowed=allowed)

    def check(self, from_status: str | None, to_status: str, *, detail: str | None = None) -> None:
        """Raise :class:`InvalidTransition` unless the map allows ``from_status -> to_status``."""
        if not self.can(from_status, to_status):
            raise self.refusal(from_status, to_status, detail=detail)

    def __repr__(self) -> str:
        return f"StateMachine({self.name!r}, {len(self.transitions)} states)"
