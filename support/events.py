"""The support topic kinds and event types (``realtime.events``).

* ``ticket:<ticket_id>`` — the ticket's public thread, for its requester and support agents:
  ``ticket.message_added``, ``ticket.read`` (read receipts), ``ticket.updated`` (status,
  priority, assignee, SLA…) and the ephemeral ``ticket.typing``. Internal notes never go here.
* ``support_queue:all`` — the staff queue, for agents only: ``ticket.updated`` for every change
  of any ticket (a client keeps the active ones, most urgent first, then oldest) and
  ``ticket.note_added`` (the internal notes: an agent's ticket page applies those of its ticket,
  as a chat client applies its ``chat.unread`` from ``user:``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Event, EventSchema, Payload, Timestamp, TopicKind, Topics, one_of
from support.models import MAX_CLIENT_MSG_ID_LENGTH, RequesterRole, Side, TicketCategory, TicketPriority, TicketStatus

#: ``ticket:<ticket_id>``: one support ticket's thread (its requester and support agents)
TICKET_TOPIC = TopicKind("ticket", key="the ticket id", description="one support ticket (requester and support agents)")
#: ``support_queue:all``: the staff queue (support agents)
SUPPORT_QUEUE_TOPIC = TopicKind("support_queue", key="`all`", description="the support staff's live ticket queue")
#: the one key of the queue topic
QUEUE_KEY = "all"

SideValue = one_of(Side.values)


class Person(Payload):
    id: UUID
    name: str


class Requester(Person):
    role: one_of(RequesterRole.values)  # type: ignore[valid-type]


class Links(Payload):
    order_id: UUID | None
    delivery_id: UUID | None
    return_id: UUID | None


class TicketUpdated(EventSchema):
    """The ticket after a change (opened, a message, status, priority, category, assignment,
    flagged overdue): the same shape as ``GET /api/v1/support/tickets/{id}/``."""

    type: ClassVar[str] = "ticket.updated"
    topics: ClassVar[Topics] = (TICKET_TOPIC, SUPPORT_QUEUE_TOPIC)

    id: UUID
    subject: str
    category: one_of(TicketCategory.values)  # type: ignore[valid-type]
    priority: one_of(TicketPriority.values)  # type: ignore[valid-type]
    status: one_of(TicketStatus.values)  # type: ignore[valid-type]
    requester: Requester
    vendor_id: UUID | None = Field(description="the store a store-staff requester speaks for")
    links: Links
    assignee: Person | None
    last_seq: Count
    last_message_at: Timestamp | None
    first_response_due_at: Timestamp = Field(description="created_at + the priority's first-response target")
    first_response_at: Timestamp | None
    overdue: bool = Field(description="flagged: no first response by first_response_due_at, and still none")
    sla_breached_at: Timestamp | None = Field(description="when it was flagged overdue (kept once answered)")
    resolved_at: Timestamp | None
    reopen_until: Timestamp | None = Field(description="a resolved ticket may be reopened until then")
    closed_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def build(cls, ticket_data: dict[str, Any]) -> Event:
        """From the ticket shape (``support.selectors.ticket_data``)."""
        return cls.event(ticket_data)


class MessageSender(Payload):
    id: UUID
    side: SideValue
    name: str


class MessageAttachment(Payload):
    id: UUID
    url: str = Field(description="site-relative; served to the requester and agents only")
    content_type: str
    size: Count = Field(description="bytes")


class TicketMessageAdded(EventSchema):
    """A new public message of the thread; its sender has read up to its ``seq``."""

    type: ClassVar[str] = "ticket.message_added"
    topics: ClassVar[Topics] = (TICKET_TOPIC,)

    id: UUID
    ticket_id: UUID
    seq: int = Field(ge=1, description="1, 2, 3 … per ticket without gaps")
    sender: MessageSender
    text: str
    attachment: MessageAttachment | None
    client_msg_id: str | None = Field(max_length=MAX_CLIENT_MSG_ID_LENGTH)
    created_at: Timestamp

    @classmethod
    def build(cls, message_data: dict[str, Any]) -> Event:
        """From the message shape (``support.selectors.message_data``)."""
        return cls.event(message_data)


class TicketRead(EventSchema):
    """A participant read the thread up to ``last_read_seq`` (read receipts)."""

    type: ClassVar[str] = "ticket.read"
    topics: ClassVar[Topics] = (TICKET_TOPIC,)

    ticket_id: UUID
    user_id: UUID
    side: SideValue
    last_read_seq: Count

    @classmethod
    def build(cls, *, ticket_id: Any, user_id: Any, side: str, last_read_seq: int) -> Event:
        return cls.event({"ticket_id": ticket_id, "user_id": user_id, "side": side, "last_read_seq": last_read_seq})


class TicketTyping(EventSchema):
    """Ephemeral: a participant started or stopped typing in the thread (``start`` expires after
    ``expires_in_ms`` unless repeated)."""

    type: ClassVar[str] = "ticket.typing"
    topics: ClassVar[Topics] = (TICKET_TOPIC,)
    ephemeral: ClassVar[bool] = True

    ticket_id: UUID
    user_id: UUID
    side: SideValue
    name: str
    state: Literal["start", "stop"]
    expires_in_ms: Count

    @classmethod
    def build(cls, *, ticket_id: Any, user: Any, side: str, state: str, expires_in_ms: int) -> Event:
        return cls.event({"ticket_id": ticket_id, "user_id": user.pk, "side": side, "name": user.display_name or "",
                          "state": state, "expires_in_ms": expires_in_ms})


class TicketNoteAdded(EventSchema):
    """An internal note of the agents on a ticket (staff queue only; never on ``ticket:``)."""

    type: ClassVar[str] = "ticket.note_added"
    topics: ClassVar[Topics] = (SUPPORT_QUEUE_TOPIC,)

    id: UUID
    ticket_id: UUID
    author: Person
    text: str
    created_at: Timestamp

    @classmethod
    def build(cls, note_data: dict[str, Any]) -> Event:
        """From the note shape (``support.selectors.note_data``)."""
        return cls.event(note_data)
