"""Reads of support tickets and the JSON shapes shared by REST, the topics' snapshots and the
events (times ISO 8601 UTC, ids strings):

* ticket — ``{"id", "subject", "category", "priority", "status", "requester": {"id", "name",
  "role"}, "vendor_id", "links": {"order_id", "delivery_id", "return_id"}, "assignee": {"id", "name"} | null,
  "last_seq", "last_message_at", "first_response_due_at", "first_response_at", "overdue" (flagged
  and still unanswered), "sla_breached_at" (when it was flagged: kept after the answer), "resolved_at", "reopen_until", "closed_at", "created_at", "updated_at"}``;
* message — ``{"id", "ticket_id", "seq", "sender": {"id", "side", "name"}, "text",
  "attachment": {"id", "url", "content_type", "size"} | null, "client_msg_id", "created_at"}``;
* note (agents only) — ``{"id", "ticket_id", "author": {"id", "name"}, "text", "created_at"}``.

Every read of one ticket goes through :func:`ticket_for`, which answers ``NotFound``
(``ticket_not_found``) alike for a ticket the user may not see, an unknown and a malformed id.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.urls import reverse

from core.exceptions import Forbidden, NotFound
from core.permissions import is_active_user
from core.utils import parse_uuid
from realtime.jsonutil import to_jsonable
from support.models import (
    ACTIVE_STATUSES,
    PRIORITY_RANK,
    REOPEN_WINDOW,
    Side,
    Ticket,
    TicketMessage,
    TicketNote,
    TicketReadState,
)
from support.permissions import can_see_support_queue, can_work_ticket, ticket_side, visible_tickets_q
from threads import sequence

SNAPSHOT_MESSAGES = 50
DEFAULT_PAGE = 50
#: tickets in the ``support_queue:`` snapshot (the oldest most urgent first)
QUEUE_LIMIT = 500


def not_found() -> NotFound:
    return NotFound("Ticket not found.", code="ticket_not_found")


def tickets() -> QuerySet[Ticket]:
    """Tickets with what their shape renders joined."""
    return Ticket.objects.select_related("requester", "assignee")


def ticket_for(*, user, ticket_id: Any, queryset: QuerySet[Ticket] | None = None) -> tuple[Ticket, str]:
    """``(ticket, side)`` for a ticket ``user`` may see (``support.permissions.ticket_side``).
    Raises ``NotFound`` ``ticket_not_found`` otherwise (unknown and malformed ids alike)."""
    pk = parse_uuid(ticket_id)
    if pk is None or not is_active_user(user):
        raise not_found()
    ticket = (queryset if queryset is not None else tickets()).filter(pk=pk).first()
    side = ticket_side(user, ticket) if ticket is not None else None
    if side is None:
        raise not_found()
    return ticket, side


def can_follow_ticket(*, user, ticket_id: Any) -> bool:
    """May ``user`` subscribe to ``ticket:<ticket_id>``? (one query)."""
    pk = parse_uuid(ticket_id)
    if pk is None or not is_active_user(user):
        return False
    return Ticket.objects.filter(visible_tickets_q(user), pk=pk).exists()


# --- shapes -------------------------------------------------------------------------------------


def _person(user) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name or ""}


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket shape (load ``requester`` and ``assignee`` with it: :func:`tickets`)."""
    return to_jsonable({
        "id": ticket.pk,
        "subject": ticket.subject,
        "category": ticket.category,
        "priority": ticket.priority,
        "status": ticket.status,
        "requester": {**_person(ticket.requester), "role": ticket.requester_role},
        "vendor_id": ticket.vendor_id,
        "links": {"order_id": ticket.order_id, "delivery_id": ticket.delivery_id,
                  "return_id": ticket.return_request_id},
        "assignee": _person(ticket.assignee),
        "last_seq": ticket.last_seq,
        "last_message_at": ticket.last_message_at,
        "first_response_due_at": ticket.first_response_due_at,
        "first_response_at": ticket.first_response_at,
        "overdue": ticket.sla_breached_at is not None and ticket.first_response_at is None,
        "sla_breached_at": ticket.sla_breached_at,
        "resolved_at": ticket.resolved_at,
        "reopen_until": ticket.resolved_at + REOPEN_WINDOW if ticket.resolved_at and ticket.status == "resolved" else None,
        "closed_at": ticket.closed_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    })


def attachment_url(*, ticket_id: Any, attachment_id: Any) -> str:
    return reverse("support-attachment-detail", kwargs={"ticket_id": str(ticket_id), "attachment_id": str(attachment_id)})


def message_data(message: TicketMessage) -> dict[str, Any]:
    """The message shape (load ``sender`` and ``attachment`` with it)."""
    att = message.attachment
    return to_jsonable({
        "id": message.pk,
        "ticket_id": message.ticket_id,
        "seq": message.seq,
        "sender": {"id": message.sender_id, "side": message.sender_side, "name": message.sender.display_name or ""},
        "text": message.text,
        "attachment": None if att is None else {
            "id": att.pk, "url": attachment_url(ticket_id=message.ticket_id, attachment_id=att.pk),
            "content_type": att.content_type, "size": att.size,
        },
        "client_msg_id": message.client_msg_id or None,
        "created_at": message.created_at,
    })


def note_data(note: TicketNote) -> dict[str, Any]:
    """The note shape (load ``author`` with it)."""
    return to_jsonable({"id": note.pk, "ticket_id": note.ticket_id, "author": _person(note.author), "text": note.text,
                        "created_at": note.created_at})


def messages() -> QuerySet[TicketMessage]:
    return TicketMessage.objects.select_related("sender", "attachment")


def message_history(*, ticket: Ticket, before: int | None = None, after: int | None = None,
                    limit: int = DEFAULT_PAGE) -> dict[str, Any]:
    """A page of the thread by anchors (``threads.sequence.history``): ``{"results",
    "has_more_before", "has_more_after", "last_seq"}``."""
    rows, more_before, more_after = sequence.history(
        queryset=messages().filter(ticket_id=ticket.pk), last_seq=ticket.last_seq, before=before, after=after, limit=limit,
    )
    return {"results": [message_data(m) for m in rows], "has_more_before": more_before,
            "has_more_after": more_after, "last_seq": ticket.last_seq}


def read_states_data(*, ticket: Ticket) -> dict[str, Any]:
    """``{"read_states": [{"user_id", "side", "last_read_seq"}], "read_up_to": {"requester",
    "staff"}}``: every reader of the thread (agents who read it) and the furthest of each side."""
    rows = TicketReadState.objects.filter(ticket_id=ticket.pk).order_by("user_id").values_list("user_id", "last_read_seq")
    states = [{"user_id": str(uid), "side": Side.REQUESTER.value if uid == ticket.requester_id else Side.STAFF.value,
               "last_read_seq": seq} for uid, seq in rows]
    return {"read_states": states,
            "read_up_to": sequence.furthest_read(((s["side"], s["last_read_seq"]) for s in states), Side.values)}


def notes_of(*, ticket: Ticket) -> list[dict[str, Any]]:
    return [note_data(n) for n in TicketNote.objects.filter(ticket_id=ticket.pk).select_related("author").order_by("created_at", "id")]


def ticket_snapshot(*, user, ticket_id: Any) -> dict[str, Any]:
    """The ``ticket:<id>`` snapshot: ``{"ticket", "messages" (the last 50), "has_more",
    "read_states", "read_up_to"}`` and, for agents only, ``"notes"``."""
    ticket, _side = ticket_for(user=user, ticket_id=ticket_id)
    page = message_history(ticket=ticket, limit=SNAPSHOT_MESSAGES)
    body = {"ticket": ticket_data(ticket), "messages": page["results"], "has_more": page["has_more_before"],
            **read_states_data(ticket=ticket)}
    if can_work_ticket(user, ticket):
        body["notes"] = notes_of(ticket=ticket)
    return body


def ticket_list(*, user) -> QuerySet[Ticket]:
    """The tickets ``user`` opened, newest first."""
    if not is_active_user(user):
        return Ticket.objects.none()
    return tickets().filter(requester_id=user.pk).order_by("-created_at", "-id")


def _by_priority(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    rank = Case(*[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()], output_field=IntegerField())
    return qs.annotate(priority_rank=rank).order_by("priority_rank", "created_at", "id")


def queue(*, user, view: str = "all", status: str | None = None, priority: str | None = None,
          overdue: bool | None = None) -> QuerySet[Ticket]:
    """The staff queue: active tickets (open, pending_*; or ``status``), most urgent first, then
    oldest. ``view``: ``all``, ``unassigned``, ``mine`` (assigned to ``user``). Raises
    ``Forbidden`` (``forbidden``) for anyone but an agent."""
    if not can_see_support_queue(user):
        raise Forbidden("Only support staff see the queue.", code="forbidden")
    qs = tickets().filter(status=status) if status else tickets().filter(status__in=ACTIVE_STATUSES)
    if view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif view == "mine":
        qs = qs.filter(assignee_id=user.pk)
    if priority:
        qs = qs.filter(priority=priority)
    if overdue is True:
        qs = qs.filter(sla_breached_at__isnull=False, first_response_at__isnull=True)
    elif overdue is False:
        qs = qs.exclude(sla_breached_at__isnull=False, first_response_at__isnull=True)
    return _by_priority(qs)


def queue_snapshot(*, user) -> dict[str, Any]:
    """The ``support_queue:all`` snapshot: ``{"tickets": [ticket…]}``, the active tickets most
    urgent first, then oldest (at most 500)."""
    return {"tickets": [ticket_data(t) for t in queue(user=user)[:QUEUE_LIMIT]]}
