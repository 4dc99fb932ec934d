"""Permission predicates of support tickets (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users.

A ticket has two sides: its **requester** (who opened it) and the **staff** side, the support
agents (marketplace admins). The requester side wins: an agent who opened a ticket of their own
is its requester there, sees no internal notes and cannot work it.
"""

from __future__ import annotations

from django.db.models import Q

from core.permissions import is_active_user, is_marketplace_admin
from support.models import Side, Ticket, TicketStatus


def is_support_agent(user) -> bool:
    """Who works tickets (the queue, replies as staff, notes, assignment, any status move):
    marketplace admins."""
    return is_marketplace_admin(user)


def ticket_side(user, ticket: Ticket) -> str | None:
    """``"requester"`` for the ticket's requester, ``"staff"`` for any other support agent, None
    for anyone else. No query."""
    if not is_active_user(user):
        return None
    if ticket.requester_id == user.pk:
        return Side.REQUESTER
    return Side.STAFF if is_support_agent(user) else None


def can_view_ticket(user, ticket: Ticket) -> bool:
    """The requester and support agents: the ticket, its thread, the ``ticket:<id>`` topic."""
    return ticket_side(user, ticket) is not None


def can_work_ticket(user, ticket: Ticket) -> bool:
    """Agents other than the requester: internal notes (read and write), assignment, priority
    and category, every status move of the map."""
    return ticket_side(user, ticket) == Side.STAFF


def ticket_moves_for(user, ticket: Ticket) -> list[str]:
    """The statuses ``user`` may ask for now (the map and its reopen window are checked by the
    owner, ``support.services``): agents any; the requester ``resolved`` (solved for them),
    ``closed`` (confirming a resolution) and ``open`` (reopening it)."""
    side = ticket_side(user, ticket)
    if side == Side.STAFF:
        return sorted(TicketStatus.values)
    if side == Side.REQUESTER:
        return sorted([TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.OPEN])
    return []


def can_see_support_queue(user) -> bool:
    """The staff queue (REST and the ``support_queue:`` topic): support agents."""
    return is_support_agent(user)


def visible_tickets_q(user) -> Q:
    """The queryset form of :func:`can_view_ticket` for ``Ticket`` rows."""
    if not is_active_user(user):
        return Q(pk__in=[])
    if is_support_agent(user):
        return Q()
    return Q(requester_id=user.pk)
