"""Writes of support tickets; the one owner of ``TICKET_TRANSITIONS``. Every function is
keyword-only and transactional; REST views and the ``ticket:<id>`` commands call the same ones,
so both give the same codes.

Who: a ticket is seen by its requester and support agents; anyone else gets ``ticket_not_found``
(404, as for an unknown id). Working a ticket (notes, assignment, priority, any status move) is
for agents other than the requester (``support.permissions``).

Locks: the **ticket row** (``FOR NO KEY UPDATE``) serialises every write of one ticket and
assigns the thread's seq (``threads.sequence``). Events go through the outbox in the same
transaction (sent after commit, in commit order): ``ticket.message_added``, ``ticket.read``,
``ticket.updated`` on ``ticket:<id>``; ``ticket.updated`` and ``ticket.note_added`` on
``support_queue:all``; the ephemeral ``ticket.typing``.

Notifications (kinds registered here): ``support.reply`` to the requester when an agent replies
or resolves (e-mail and in-app), ``support.assigned`` to the agent a ticket is assigned to,
``support.sla_breached`` to the assignee (or every agent while unassigned) when a ticket is
flagged overdue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from commerce.orders.models import Order
from commerce.returns.models import ReturnRequest
from commerce.stores.permissions import is_store_staff
from core.exceptions import Conflict, Forbidden, NotFound
from core.images import DEFAULT_MAX_PIXELS
from core.permissions import is_active_user, is_courier, marketplace_admins_q
from core.utils import parse_uuid
from delivery.models import Delivery
from notifications.kinds import EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime import ephemeral, outbox
from realtime.events import Event
from support import selectors
from support.events import (
    QUEUE_KEY,
    SUPPORT_QUEUE_TOPIC,
    TICKET_TOPIC,
    TicketMessageAdded,
    TicketNoteAdded,
    TicketRead,
    TicketTyping,
    TicketUpdated,
)
from support.models import (
    ACTIVE_STATUSES,
    MAX_SUBJECT_LENGTH,
    MAX_TEXT_LENGTH,
    REOPEN_WINDOW,
    TICKET_MACHINE,
    RequesterRole,
    Side,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketMessage,
    TicketNote,
    TicketPriority,
    TicketReadState,
    TicketStatus,
    first_response_target,
)
from support.permissions import can_work_ticket, is_support_agent, ticket_moves_for
from threads import sequence
from threads.images import MAX_IMAGE_BYTES, read_image
from threads.inputs import clean_client_msg_id, clean_seq, clean_text, invalid
from threads.typing import typing_expiry

SUPPORT_REPLY = register_kind(
    "support.reply", description="Marketplace support answered or resolved your ticket.", default_channels=(IN_APP, EMAIL),
)
SUPPORT_ASSIGNED = register_kind(
    "support.assigned", description="A support ticket was assigned to you.", default_channels=(IN_APP,),
)
SUPPORT_SLA_BREACHED = register_kind(
    "support.sla_breached", description="A support ticket passed its first-response target without an answer.",
    default_channels=(IN_APP, EMAIL),
)

#: priorities a requester may choose (urgent is the agents' call)
REQUESTER_PRIORITIES = (TicketPriority.LOW, TicketPriority.NORMAL, TicketPriority.HIGH)


def _text(value: Any, field: str = "text") -> str:
    return clean_text(value, max_length=MAX_TEXT_LENGTH, field=field)


def _choice(value: Any, choices: Any, field: str) -> str:
    if value not in choices:
        raise invalid(field, f"Expected one of {', '.join(choices)}.")
    return value


def _ticket_events(ticket: Ticket) -> list[tuple[str, Event]]:
    """``ticket.updated`` on the ticket's topic and the staff queue (reloads the joins)."""
    event = TicketUpdated.build(selectors.ticket_data(selectors.tickets().get(pk=ticket.pk)))
    return [(TICKET_TOPIC.name(ticket.pk), event), (SUPPORT_QUEUE_TOPIC.name(QUEUE_KEY), event)]


def _lock(*, user, ticket_id: Any) -> tuple[Ticket, str]:
    """Lock the ticket row and check ``user`` may see it; ``(ticket, side)``. Raises
    ``ticket_not_found``."""
    return selectors.ticket_for(
        user=user, ticket_id=ticket_id, queryset=Ticket.objects.select_for_update(no_key=True),
    )


def _lock_worked(*, user, ticket_id: Any) -> Ticket:
    ticket, side = _lock(user=user, ticket_id=ticket_id)
    if side != Side.STAFF:
        raise Forbidden("Only support staff work tickets.", code="forbidden")
    return ticket


# --- opening ---------------------------------------------------------------------------------


def _linked(*, user, role: str, vendor_id: Any, order_id: Any, delivery_id: Any,
            return_id: Any) -> tuple[Any, Any, Any]:
    """The order, delivery and return a requester links: only their own (the buyer's order and
    returns, an order or return of the store they speak for, the delivery they carry), and
    consistent with each other (a delivery or return of the linked order). Raises
    ``link_not_found`` (404) for anything else, unknown ids included."""
    def missing(field: str) -> NotFound:
        return NotFound(f"No such {field.replace('_id', '')} of yours.", code="link_not_found", fields={field: ["Not found."]})

    def find(model, raw, *related):
        pk = parse_uuid(raw)
        return model.objects.select_related(*related).filter(pk=pk).first() if pk else None

    def owns(order) -> bool:  # the buyer's order, or one of the store they speak for
        return ((role == RequesterRole.BUYER and order.buyer_id == user.pk)
                or (role == RequesterRole.STORE and order.vendor_id == vendor_id))

    order = delivery = rma = None
    if order_id is not None:
        order = find(Order, order_id)
        if order is None or not owns(order):
            raise missing("order_id")
    if delivery_id is not None:
        delivery = find(Delivery, delivery_id, "order")
        own = delivery is not None and (
            owns(delivery.order) or (role == RequesterRole.COURIER and delivery.courier_id == user.pk))
        if not own or (order is not None and delivery.order_id != order.pk):
            raise missing("delivery_id")
    if return_id is not None:
        rma = find(ReturnRequest, return_id, "order")
        own = rma is not None and owns(rma.order)
        if not own or (order is not None and rma.order_id != order.pk):
            raise missing("return_id")
    return order, delivery, rma


def ticket_open(*, user, role: Any, category: Any, subject: Any, text: Any, priority: Any = TicketPriority.NORMAL,
                vendor_id: Any = None, order_id: Any = None, delivery_id: Any = None, return_id: Any = None) -> Ticket:
    """``user`` opens a ticket to the marketplace as a ``buyer``, as staff of store
    ``vendor_id`` (``store``) or as a ``courier``, with its first message ``text``. ``priority``
    ``low``/``normal``/``high`` (``urgent`` is set by agents); optional links to the requester's
    own order, delivery and return (RMA). The first-response target follows the priority.

    Raises ``invalid`` (fields), ``not_authenticated`` (403), ``not_store_staff`` /
    ``not_courier`` (403: the role is not theirs), ``link_not_found`` (404). Publishes
    ``ticket.updated`` (queue) and ``ticket.message_added``."""
    if not is_active_user(user):
        raise Forbidden("Sign in to contact support.", code="not_authenticated")
    role = _choice(role, RequesterRole.values, "role")
    category = _choice(category, TicketCategory.values, "category")
    priority = _choice(priority, REQUESTER_PRIORITIES, "priority")
    subject = clean_text(subject, max_length=MAX_SUBJECT_LENGTH, field="subject")
    text = _text(text)
    vid = None
    if role == RequesterRole.STORE:
        vid = parse_uuid(vendor_id)
        if vid is None or not is_store_staff(user, vid):
            raise Forbidden("You do not work for this store.", code="not_store_staff")
    elif vendor_id is not None:
        raise invalid("vendor_id", "Only a store-staff ticket names a store.")
    if role == RequesterRole.COURIER and not is_courier(user):
        raise Forbidden("Only couriers open courier tickets.", code="not_courier")
    order, delivery, rma = _linked(user=user, role=role, vendor_id=vid, order_id=order_id, delivery_id=delivery_id,
                                   return_id=return_id)
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.create(
            requester=user, requester_role=role, vendor_id=vid, category=category, priority=priority, subject=subject,
            order=order, delivery=delivery, return_request=rma, first_response_due_at=now + first_response_target(priority),
            created_at=now, updated_at=now,
        )
        message = sequence.append(thread=ticket, model=TicketMessage, thread_field="ticket", sender=user,
                                  sender_side=Side.REQUESTER, text=text, created_at=now)
        TicketReadState.objects.create(ticket=ticket, user=user, last_read_seq=message.seq)
        outbox.publish_many([
            (TICKET_TOPIC.name(ticket.pk), TicketMessageAdded.build(selectors.message_data(message))),
            *_ticket_events(ticket),
        ])
    return ticket


# --- the thread ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    message: TicketMessage
    created: bool


def _unused_attachment(*, ticket: Ticket, user, attachment_id: Any) -> TicketAttachment | None:
    if attachment_id in (None, ""):
        return None
    pk = parse_uuid(attachment_id)
    attachment = TicketAttachment.objects.filter(pk=pk, ticket_id=ticket.pk, uploaded_by_id=user.pk,
                                                 message__isnull=True).first() if pk else None
    if attachment is None:
        raise invalid("attachment_id", "No unused attachment of yours with this id on this ticket.", code="invalid_image")
    return attachment


def message_send(*, user, ticket_id: Any, text: Any, client_msg_id: Any = None, attachment_id: Any = None) -> SendResult:
    """A public message of the requester or an agent, with the next seq; a retry with the same
    ``client_msg_id`` returns the stored message (``created=False``, nothing published).

    An agent's message is the first response when there was none, and moves ``open`` /
    ``pending_staff`` to ``pending_customer`` (and notifies the requester, ``support.reply``);
    the requester's moves ``pending_customer`` to ``pending_staff``. Raises ``invalid``,
    ``invalid_image``, ``ticket_not_found`` (404) and ``Conflict`` ``ticket_not_open`` (409: a
    resolved or closed ticket; reopen it first)."""
    text = _text(text)
    client_msg_id = clean_client_msg_id(client_msg_id)
    with transaction.atomic():
        ticket, side = _lock(user=user, ticket_id=ticket_id)
        existing = sequence.sent_before(queryset=selectors.messages(), thread_field="ticket", thread_id=ticket.pk,
                                        sender_id=user.pk, client_msg_id=client_msg_id)
        if existing is not None:
            return SendResult(existing, False)
        if ticket.status not in ACTIVE_STATUSES:
            raise Conflict(f"This ticket is {ticket.status}; reopen it to write again.", code="ticket_not_open")
        attachment = _unused_attachment(ticket=ticket, user=user, attachment_id=attachment_id)
        now = timezone.now()
        message = sequence.append(thread=ticket, model=TicketMessage, thread_field="ticket", sender=user,
                                  sender_side=side, text=text, client_msg_id=client_msg_id, attachment=attachment,
                                  created_at=now)
        changes: dict[str, Any] = {"updated_at": now}
        if side == Side.STAFF:
            if ticket.first_response_at is None:
                changes["first_response_at"] = now
            if ticket.status in (TicketStatus.OPEN, TicketStatus.PENDING_STAFF):
                TICKET_MACHINE.check(ticket.status, TicketStatus.PENDING_CUSTOMER)
                changes["status"] = TicketStatus.PENDING_CUSTOMER
        elif ticket.status == TicketStatus.PENDING_CUSTOMER:
            TICKET_MACHINE.check(ticket.status, TicketStatus.PENDING_STAFF)
            changes["status"] = TicketStatus.PENDING_STAFF
        Ticket.objects.filter(pk=ticket.pk).update(**changes)
        TicketReadState.objects.update_or_create(ticket=ticket, user=user, defaults={"last_read_seq": message.seq})
        outbox.publish_many([
            (TICKET_TOPIC.name(ticket.pk), TicketMessageAdded.build(selectors.message_data(message))),
            *_ticket_events(ticket),
        ])
        if side == Side.STAFF:
            _notify_requester(ticket, title=f"Support replied: {ticket.subject}"[:200], body=text[:300])
    return SendResult(message, True)


def _notify_requester(ticket: Ticket, *, title: str, body: str) -> None:
    notify(recipients=[ticket.requester_id], kind=SUPPORT_REPLY.name, title=title, body=body,
           data={"ticket_id": str(ticket.pk), "url": f"/api/v1/support/tickets/{ticket.pk}/"})


def mark_read(*, user, ticket_id: Any, up_to_seq: Any) -> dict[str, Any]:
    """``user`` read the thread up to ``up_to_seq`` (clamped to the last seq; never backwards).
    Publishes ``ticket.read`` when the pointer moved. Returns ``{"ticket_id", "last_read_seq"}``."""
    up_to_seq = clean_seq(up_to_seq, field="up_to_seq", minimum=0)
    with transaction.atomic():
        ticket, side = _lock(user=user, ticket_id=ticket_id)
        state, _ = TicketReadState.objects.get_or_create(ticket=ticket, user=user)
        target = min(up_to_seq, ticket.last_seq)
        if target > state.last_read_seq:
            state.last_read_seq = target
            state.save(update_fields=["last_read_seq", "updated_at"])
            outbox.publish(topic=TICKET_TOPIC.name(ticket.pk),
                           event=TicketRead.build(ticket_id=ticket.pk, user_id=user.pk, side=side, last_read_seq=target))
    return {"ticket_id": str(ticket.pk), "last_read_seq": state.last_read_seq}


def typing_signal(*, user, ticket_id: Any, state: Any) -> dict[str, Any]:
    """Relay ``ticket.typing`` to the other sockets on the ticket (never stored). Returns
    ``{"state", "expires_in_ms"}``. Raises ``invalid``, ``ticket_not_found``."""
    expires = typing_expiry(state)
    ticket, side = selectors.ticket_for(user=user, ticket_id=ticket_id)
    ephemeral.send(topic=TICKET_TOPIC.name(ticket.pk), exclude_user_id=user.pk,
                   event=TicketTyping.build(ticket_id=ticket.pk, user=user, side=side, state=state, expires_in_ms=expires))
    return {"state": state, "expires_in_ms": expires}


def attachment_upload(*, user, ticket_id: Any, file) -> TicketAttachment:
    """Store an image for a later message with ``attachment_id`` (``threads.images``: JPEG, PNG,
    GIF or WebP by content, at most ``SUPPORT_MAX_IMAGE_BYTES``, re-encoded without metadata).
    Raises ``ticket_not_found``, ``ticket_not_open``, ``invalid_image``, ``image_too_large``."""
    ticket, _side = selectors.ticket_for(user=user, ticket_id=ticket_id)
    if ticket.status not in ACTIVE_STATUSES:
        raise Conflict(f"This ticket is {ticket.status}; reopen it to write again.", code="ticket_not_open")
    image = read_image(file, max_bytes=int(getattr(settings, "SUPPORT_MAX_IMAGE_BYTES", MAX_IMAGE_BYTES)),
                       max_pixels=DEFAULT_MAX_PIXELS)
    attachment = TicketAttachment(id=uuid.uuid4(), ticket=ticket, uploaded_by=user, content_type=image.content_type,
                                  size=len(image.data))
    attachment.file.save("upload", ContentFile(image.data), save=False)
    attachment.save()
    return attachment


# --- staff work ------------------------------------------------------------------------------


def note_add(*, user, ticket_id: Any, text: Any) -> TicketNote:
    """An agent adds an internal note (never shown to the requester). Publishes
    ``ticket.note_added`` on the staff queue only. Raises ``ticket_not_found``, ``forbidden``
    (403: not an agent, or the requester), ``invalid``."""
    text = _text(text)
    with transaction.atomic():
        ticket = _lock_worked(user=user, ticket_id=ticket_id)
        note = TicketNote.objects.create(ticket=ticket, author=user, text=text)
        outbox.publish(topic=SUPPORT_QUEUE_TOPIC.name(QUEUE_KEY), event=TicketNoteAdded.build(selectors.note_data(note)))
    return note


def ticket_assign(*, user, ticket_id: Any, assignee_id: Any) -> Ticket:
    """An agent assigns the ticket to an agent (``assignee_id``; None unassigns). The new
    assignee is notified (``support.assigned``) unless they assigned themselves. Raises
    ``ticket_not_found``, ``forbidden``, ``not_an_agent`` (400)."""
    assignee = None
    if assignee_id is not None:
        pk = parse_uuid(assignee_id)
        assignee = get_user_model().objects.filter(pk=pk).first() if pk else None
        if assignee is None or not is_support_agent(assignee):
            raise invalid("assignee_id", "Tickets are assigned to support staff.", code="not_an_agent")
    with transaction.atomic():
        ticket = _lock_worked(user=user, ticket_id=ticket_id)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        if assignee is not None and assignee.pk == ticket.requester_id:
            raise invalid("assignee_id", "The requester cannot work their own ticket.", code="not_an_agent")
        Ticket.objects.filter(pk=ticket.pk).update(assignee=assignee, updated_at=timezone.now())
        outbox.publish_many(_ticket_events(ticket))
        if assignee is not None and assignee.pk != user.pk:
            notify(recipients=[assignee.pk], kind=SUPPORT_ASSIGNED.name, title=f"Ticket assigned to you: {ticket.subject}"[:200],
                   data={"ticket_id": str(ticket.pk)})
    return selectors.tickets().get(pk=ticket.pk)


def ticket_update(*, user, ticket_id: Any, priority: Any = None, category: Any = None) -> Ticket:
    """An agent changes the priority and/or category. A new priority moves the first-response
    due time (``created_at`` + its target) while no agent has answered, and lifts the overdue
    flag when the new due time is still ahead. Raises ``ticket_not_found``, ``forbidden``,
    ``invalid``."""
    if priority is not None:
        priority = _choice(priority, TicketPriority.values, "priority")
    if category is not None:
        category = _choice(category, TicketCategory.values, "category")
    with transaction.atomic():
        ticket = _lock_worked(user=user, ticket_id=ticket_id)
        now = timezone.now()
        changes: dict[str, Any] = {}
        if category is not None and category != ticket.category:
            changes["category"] = category
        if priority is not None and priority != ticket.priority:
            changes["priority"] = priority
            if ticket.first_response_at is None:
                due = ticket.created_at + first_response_target(priority)
                changes["first_response_due_at"] = due
                if due > now:
                    changes["sla_breached_at"] = None
        if changes:
            Ticket.objects.filter(pk=ticket.pk).update(**changes, updated_at=now)
            outbox.publish_many(_ticket_events(ticket))
    return selectors.tickets().get(pk=ticket.pk)


def ticket_transition(*, user, ticket_id: Any, to_status: Any) -> Ticket:
    """Move the ticket to ``to_status``. Agents may ask for any move, the requester for
    ``resolved``, ``closed`` and ``open`` (reopen) — ``support.permissions.ticket_moves_for``;
    others ``transition_not_allowed`` (403). The map (``TICKET_TRANSITIONS``) and the reopen
    window (7 days after ``resolved_at``) answer ``invalid_transition`` (409). Resolving by an
    agent notifies the requester. Raises ``ticket_not_found``, ``invalid``."""
    to_status = _choice(to_status, TicketStatus.values, "status")
    with transaction.atomic():
        ticket, _side = _lock(user=user, ticket_id=ticket_id)
        if to_status not in ticket_moves_for(user, ticket):
            raise Forbidden(f"You may not move this ticket to {to_status}.", code="transition_not_allowed")
        now = timezone.now()
        TICKET_MACHINE.check(ticket.status, to_status)
        if to_status == TicketStatus.OPEN and ticket.resolved_at is not None and now > ticket.resolved_at + REOPEN_WINDOW:
            raise TICKET_MACHINE.refusal(
                ticket.status, to_status, refused=[TicketStatus.OPEN],
                detail=f"A ticket reopens within {REOPEN_WINDOW.days} days of its resolution; open a new one.",
            )
        changes: dict[str, Any] = {"status": to_status, "updated_at": now}
        if to_status == TicketStatus.RESOLVED:
            changes["resolved_at"] = now
        elif to_status == TicketStatus.CLOSED:
            changes["closed_at"] = now
        elif to_status == TicketStatus.OPEN:
            changes["resolved_at"] = None
        Ticket.objects.filter(pk=ticket.pk).update(**changes)
        outbox.publish_many(_ticket_events(ticket))
        if to_status == TicketStatus.RESOLVED and can_work_ticket(user, ticket):
            _notify_requester(ticket, title=f"Your ticket was resolved: {ticket.subject}"[:200],
                              body=f"Reply within {REOPEN_WINDOW.days} days by reopening it if you still need help.")
    return selectors.tickets().get(pk=ticket.pk)


# --- SLA and housekeeping (beat tasks) -------------------------------------------------------


def flag_overdue_tickets(*, now: datetime | None = None, limit: int = 200) -> int:
    """Flag active tickets with no first response past their due time (``sla_breached_at``),
    publish ``ticket.updated`` and notify the assignee, or every agent while unassigned
    (``support.sla_breached``). Locks the tickets in pk order, skipping ones locked by a writer
    (the next run takes them). Returns how many were flagged."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(status__in=ACTIVE_STATUSES, first_response_at__isnull=True, sla_breached_at__isnull=True,
                    first_response_due_at__lt=now)
            .order_by("pk")[:limit]
        )
        if not due:
            return 0
        Ticket.objects.filter(pk__in=[t.pk for t in due]).update(sla_breached_at=now)
        events: list[tuple[str, Event]] = []
        agents = None
        for ticket in due:
            events += _ticket_events(ticket)
            if ticket.assignee_id is not None:
                recipients = [ticket.assignee_id]
            else:
                if agents is None:
                    agents = list(get_user_model().objects.filter(marketplace_admins_q()).values_list("pk", flat=True))
                recipients = agents
            if recipients:
                notify(recipients=recipients, kind=SUPPORT_SLA_BREACHED.name,
                       title=f"Overdue ({ticket.priority}): {ticket.subject}"[:200], data={"ticket_id": str(ticket.pk)})
        outbox.publish_many(events)
    return len(due)


def close_resolved_tickets(*, now: datetime | None = None, limit: int = 500) -> int:
    """Close tickets resolved more than ``REOPEN_WINDOW`` ago (the reopen window has passed).
    Returns how many were closed."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(status=TicketStatus.RESOLVED, resolved_at__lt=now - REOPEN_WINDOW).order_by("pk")[:limit]
        )
        for ticket in stale:
            TICKET_MACHINE.check(ticket.status, TicketStatus.CLOSED)
        Ticket.objects.filter(pk__in=[t.pk for t in stale]).update(status=TicketStatus.CLOSED, closed_at=now, updated_at=now)
        outbox.publish_many([e for t in stale for e in _ticket_events(t)])
    return len(stale)

