"""Support tickets: a buyer, a store's staff member or a courier asks the marketplace for help.

A :class:`Ticket` has one requester (who opened it, in one of three roles) and is worked by
marketplace staff (support agents, ``support.permissions.is_support_agent``). Its public thread
is :class:`TicketMessage` (requester and agents), numbered ``seq`` 1, 2, 3… without gaps under a
lock of the ticket row (``threads.sequence``). Internal notes (:class:`TicketNote`) are a
separate table, so the requester's thread has no holes and no query of the requester's side
can reach a note.

Status (one map, :data:`TICKET_TRANSITIONS`, owned by ``support.services``)::

    open ─┬─> pending_customer <─> pending_staff ─┐
          ├─> pending_staff                       ├─> resolved ─┬─> closed (final)
          └─> resolved <──────────────────────────┘             └─> open (reopen, 7 days)

An agent's public reply moves ``open``/``pending_staff`` to ``pending_customer``; the
requester's reply moves ``pending_customer`` to ``pending_staff``. A resolved ticket reopens
within :data:`REOPEN_WINDOW` of ``resolved_at``; after that it is closed (by the requester, an
agent, or the beat task ``support.tasks.close_resolved_tickets``).

SLA: every priority has a first-response target (:data:`FIRST_RESPONSE_TARGETS`, overridable
with ``SUPPORT_FIRST_RESPONSE_MINUTES``); ``first_response_due_at`` is ``created_at`` plus it.
``first_response_at`` is the first public agent reply. A ticket still waiting for it past the
due time is flagged (``sla_breached_at``) by ``support.tasks.flag_overdue_tickets`` and the
agents are notified.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from core.fsm import StateMachine
from threads.images import EXTENSIONS, PrivateMediaStorage
from threads.inputs import MAX_CLIENT_MSG_ID_LENGTH

MAX_TEXT_LENGTH = 8000
MAX_SUBJECT_LENGTH = 200
#: a resolved ticket may be reopened for this long after ``resolved_at``
REOPEN_WINDOW = timedelta(days=7)


class TicketCategory(models.TextChoices):
    ORDER = "order", "Order"
    PAYMENT = "payment", "Payment"
    DELIVERY = "delivery", "Delivery"
    RETURN = "return", "Return"
    ACCOUNT = "account", "Account"
    OTHER = "other", "Other"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


#: queue order: most urgent first
PRIORITY_RANK = {TicketPriority.URGENT: 0, TicketPriority.HIGH: 1, TicketPriority.NORMAL: 2, TicketPriority.LOW: 3}

#: first-response targets per priority, in minutes (the usual help-desk tiers: 1 h, 4 h, 1 and 3 days)
FIRST_RESPONSE_TARGETS = {
    TicketPriority.URGENT: 60,
    TicketPriority.HIGH: 4 * 60,
    TicketPriority.NORMAL: 24 * 60,
    TicketPriority.LOW: 72 * 60,
}


def first_response_target(priority: str) -> timedelta:
    """The first-response target of ``priority`` (``SUPPORT_FIRST_RESPONSE_MINUTES`` overrides
    :data:`FIRST_RESPONSE_TARGETS` per priority)."""
    minutes = {**FIRST_RESPONSE_TARGETS, **getattr(settings, "SUPPORT_FIRST_RESPONSE_MINUTES", {})}
    return timedelta(minutes=int(minutes[priority]))


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING_CUSTOMER = "pending_customer", "Waiting for the requester"
    PENDING_STAFF = "pending_staff", "Waiting for staff"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


#: statuses of the staff queue (work to do or awaited)
ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, TicketStatus.PENDING_STAFF)

TICKET_TRANSITIONS: dict[str, set[str]] = {
    TicketStatus.OPEN: {TicketStatus.PENDING_CUSTOMER, TicketStatus.PENDING_STAFF, TicketStatus.RESOLVED},
    TicketStatus.PENDING_CUSTOMER: {TicketStatus.PENDING_STAFF, TicketStatus.RESOLVED},
    TicketStatus.PENDING_STAFF: {TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED},
    TicketStatus.RESOLVED: {TicketStatus.CLOSED, TicketStatus.OPEN},
    TicketStatus.CLOSED: set(),
}
TICKET_MACHINE = StateMachine("ticket", TICKET_TRANSITIONS)


class RequesterRole(models.TextChoices):
    """In which role the requester opened the ticket."""

    BUYER = "buyer", "Buyer"
    STORE = "store", "Store staff"
    COURIER = "courier", "Courier"


class Side(models.TextChoices):
    """Which side of the thread a participant is on."""

    REQUESTER = "requester", "Requester"
    STAFF = "staff", "Marketplace staff"


class Ticket(models.Model):
    """A ticket. ``vendor`` is the store a store-staff requester speaks for; ``order``,
    ``delivery`` and ``return_request`` are optional links to the requester's own order, delivery
    or return (RMA). ``last_seq`` is
    the seq of the newest public message."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_tickets")
    requester_role = models.CharField(max_length=8, choices=RequesterRole.choices)
    vendor = models.ForeignKey("commerce.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=16, choices=TicketCategory.choices)
    priority = models.CharField(max_length=8, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    subject = models.CharField(max_length=MAX_SUBJECT_LENGTH)
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey("delivery.Delivery", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    return_request = models.ForeignKey("commerce.ReturnRequest", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    last_seq = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    first_response_due_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True, help_text="flagged overdue (no first response in time)")
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=TicketCategory.values), name="support_ticket_category_valid"),
            models.CheckConstraint(condition=Q(priority__in=TicketPriority.values), name="support_ticket_priority_valid"),
            models.CheckConstraint(condition=Q(status__in=TicketStatus.values), name="support_ticket_status_valid"),
            models.CheckConstraint(condition=Q(requester_role__in=RequesterRole.values), name="support_ticket_role_valid"),
            models.CheckConstraint(
                condition=Q(requester_role=RequesterRole.STORE, vendor__isnull=False) | ~Q(requester_role=RequesterRole.STORE),
                name="support_ticket_store_has_vendor",
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="support_ticket_last_seq_gte_0"),
        ]
        indexes = [
            models.Index(fields=["requester", "-created_at"], name="support_ticket_requester"),
            models.Index(fields=["status", "priority", "created_at"], name="support_ticket_queue"),
            models.Index(fields=["assignee", "status"], name="support_ticket_assignee"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.status})"


class TicketAttachmentStorage(PrivateMediaStorage):
    """Private storage of ticket images: ``settings.SUPPORT_MEDIA_ROOT`` (default
    ``<project>/.data/support-media``); served only to the ticket's requester and agents."""

    setting = "SUPPORT_MEDIA_ROOT"
    default_dir = "support-media"


def ticket_media_storage() -> TicketAttachmentStorage:
    return TicketAttachmentStorage()


def attachment_path(instance: "TicketAttachment", filename: str) -> str:
    return f"support/{instance.ticket_id}/{instance.pk}.{EXTENSIONS.get(instance.content_type, 'bin')}"


class TicketAttachment(models.Model):
    """An image uploaded to a ticket (re-encoded, ``threads.images``), attached to at most one
    message."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=ticket_media_storage, max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.content_type} {self.size} B on {self.ticket_id}"


class TicketMessage(models.Model):
    """A public message of the ticket's thread (requester or agent)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sender_side = models.CharField(max_length=10, choices=Side.choices)
    text = models.TextField()
    client_msg_id = models.CharField(max_length=MAX_CLIENT_MSG_ID_LENGTH, blank=True)
    attachment = models.OneToOneField(TicketAttachment, null=True, blank=True, on_delete=models.SET_NULL, related_name="message")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["ticket", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "seq"], name="support_message_seq_unique"),
            models.UniqueConstraint(fields=["ticket", "sender", "client_msg_id"], condition=~Q(client_msg_id=""),
                                    name="support_message_client_msg_id_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="support_message_seq_gte_1"),
            models.CheckConstraint(condition=Q(sender_side__in=Side.values), name="support_message_side_valid"),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("text"), 1) & LessThanOrEqual(Length("text"), MAX_TEXT_LENGTH),
                name="support_message_text_length",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} of {self.ticket_id}"


class TicketNote(models.Model):
    """An internal note of agents on a ticket: never shown to the requester (REST or socket)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticket", "created_at", "id"]

    def __str__(self) -> str:
        return f"note on {self.ticket_id}"


class TicketReadState(models.Model):
    """How far ``user`` has read the ticket's thread (read receipts)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="read_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="support_readstate_unique"),
            models.CheckConstraint(condition=Q(last_read_seq__gte=0), name="support_readstate_seq_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.ticket_id} up to {self.last_read_seq}"
