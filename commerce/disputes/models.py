"""Disputes: a buyer's claim about a delivered order, with the statements of each party, decided
by marketplace staff (``commerce.disputes.services``, the one owner of :data:`DISPUTE_TRANSITIONS`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.fsm import StateMachine

from commerce.orders.models import Order


class DisputeReason(models.TextChoices):
    """Why a buyer disputes a delivered order (``Dispute.reason``)."""

    NOT_RECEIVED = "not_received", "Not received (although the delivery was confirmed)"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    DAMAGED = "damaged", "Arrived damaged"
    WRONG_ITEM = "wrong_item", "Wrong item"
    MISSING_PARTS = "missing_parts", "Parts or items missing"
    OTHER = "other", "Other"


class DisputeStatus(models.TextChoices):
    """``open`` freezes the order's escrow until marketplace staff resolve it (release to the
    store, a partial refund, a full refund) or the buyer withdraws it. The four ends are final."""

    OPEN = "open", "Open"
    RESOLVED_RELEASE = "resolved_release", "Resolved: released to the store"
    RESOLVED_PARTIAL_REFUND = "resolved_partial_refund", "Resolved: partial refund"
    RESOLVED_REFUND = "resolved_refund", "Resolved: full refund"
    WITHDRAWN = "withdrawn", "Withdrawn by the buyer"


D = DisputeStatus

#: the dispute's state map: anything else is ``invalid_transition`` (409)
DISPUTE_TRANSITIONS: dict[str, frozenset[str]] = {
    D.OPEN: frozenset({D.RESOLVED_RELEASE, D.RESOLVED_PARTIAL_REFUND, D.RESOLVED_REFUND, D.WITHDRAWN}),
    D.RESOLVED_RELEASE: frozenset(),
    D.RESOLVED_PARTIAL_REFUND: frozenset(),
    D.RESOLVED_REFUND: frozenset(),
    D.WITHDRAWN: frozenset(),
}

#: the dispute's state machine (``core.fsm``); only ``commerce.disputes.services`` moves it
DISPUTE_MACHINE = StateMachine("dispute", DISPUTE_TRANSITIONS)


del D


class Dispute(models.Model):
    """A claim about ``order`` that marketplace staff decide (``commerce.disputes.services``).

    ``source`` says what opened it: ``buyer`` (the buyer, inside the buyer-protection window) or
    another app acting for the buyer (e.g. ``return`` when a rejected return is escalated), and
    ``source_id`` which of its objects (the return's id; null for ``buyer``).
    ``claimed_amount`` is what the buyer asks back (``currency``). While ``open`` the order's
    escrow is frozen: never released, whatever ``release_after`` says. The resolution records
    who (``resolved_by``), when, ``resolution_note``, ``refund_amount`` (to the buyer) and
    ``released_amount`` (to the store). At most one open dispute per order (database
    constraint)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=32, default="buyer")
    source_id = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=32)
    description = models.TextField()
    claimed_amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    store_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    released_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="commerce_dispute_queue")]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status="open"), name="commerce_dispute_one_open"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in DisputeStatus]),
                                   name="commerce_dispute_status_valid"),
            models.CheckConstraint(condition=Q(claimed_amount__gte=0) & Q(refund_amount__gte=0)
                                   & Q(released_amount__gte=0), name="commerce_dispute_amounts_gte_0"),
        ]

    def __str__(self) -> str:
        return f"dispute {self.id} on {self.order_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN

    def can_transition_to(self, status: str) -> bool:
        return DISPUTE_MACHINE.can(self.status, status)


class DisputeRole(models.TextChoices):
    BUYER = "buyer", "Buyer"
    STORE = "store", "Store"
    STAFF = "staff", "Marketplace staff"


class DisputeStatement(models.Model):
    """What one party said in a dispute (append-only): the buyer's case, the store's response,
    staff questions and the resolution note. ``role`` is the author's side at the time."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="statements")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    role = models.CharField(max_length=16, choices=DisputeRole.choices)
    text = models.TextField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"
