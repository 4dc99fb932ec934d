"""Returns (RMA): a buyer sends lines of a delivered order back, the store inspects them, and the
refund follows the grade and the reason (``commerce.returns.services``, the one owner of
:data:`RETURN_TRANSITIONS`).

* :class:`ReturnPolicy` — a store's return rules (one-to-one on ``Vendor``; a store without a row
  has the defaults): the return window in days after proven delivery, the most a restocking fee
  may take of a changed-mind return, which inspection grades go back to stock.
* :class:`ReturnRequest` — one return: its lines, photos, transport, inspection and refund.
* :class:`ReturnLine` — how many units of one order line go back, their grade and refund.
* :class:`ReturnPhoto` — a photo the buyer attached (re-encoded, private storage).
* :class:`ReturnStatusChange` — the audit row of every move.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.fsm import StateMachine

from commerce.common.photos import PhotoFields

from commerce.disputes.models import Dispute
from commerce.orders.models import Order, OrderLine
from commerce.stores.models import Vendor


class ReturnReason(models.TextChoices):
    """Why the buyer sends lines back (``ReturnRequest.reason``). The first three are the store's
    fault (:data:`STORE_FAULT_REASONS`: a full refund); ``changed_mind`` and ``other`` are the
    buyer's side (the store may charge a restocking fee and keep the shipping fee)."""

    WRONG_ITEM = "wrong_item", "Wrong item"
    DAMAGED = "damaged", "Arrived damaged"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    CHANGED_MIND = "changed_mind", "Changed my mind"
    OTHER = "other", "Other"


#: reasons that are the store's fault: the refund is in full (a line graded ``not_returned``
#: aside), no restocking fee, the original shipping fee refunded with a whole-order return
STORE_FAULT_REASONS = frozenset({ReturnReason.WRONG_ITEM, ReturnReason.DAMAGED, ReturnReason.NOT_AS_DESCRIBED})


class ReturnGrade(models.TextChoices):
    """What the store found when it inspected a returned line."""

    AS_NEW = "as_new", "As new"
    OPENED = "opened", "Opened, complete and working"
    DAMAGED = "damaged", "Damaged"
    NOT_RETURNED = "not_returned", "Not in the parcel"


#: grades that go back to stock when a store has not chosen (``ReturnPolicy.resellable_grades``)
DEFAULT_RESELLABLE_GRADES = (ReturnGrade.AS_NEW.value, ReturnGrade.OPENED.value)


def default_resellable_grades() -> list[str]:
    """``["as_new", "opened"]``: the default of ``ReturnPolicy.resellable_grades``."""
    return list(DEFAULT_RESELLABLE_GRADES)


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected by the store"
    IN_TRANSIT = "in_transit", "On its way to the store"
    RECEIVED = "received", "Received by the store"
    INSPECTED = "inspected", "Inspected"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REJECTED_AFTER_INSPECTION = "rejected_after_inspection", "Rejected after inspection"
    CANCELLED = "cancelled", "Cancelled by the buyer"


S = ReturnStatus

#: the return's state map (one owner: ``commerce.returns.services``); anything else is
#: ``invalid_transition`` (409). ``cancelled`` only before the parcel left the buyer.
RETURN_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.IN_TRANSIT, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset({S.INSPECTED}),
    S.INSPECTED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.REJECTED_AFTER_INSPECTION}),
    S.REJECTED: frozenset(),
    S.REFUNDED: frozenset(),
    S.PARTIALLY_REFUNDED: frozenset(),
    S.REJECTED_AFTER_INSPECTION: frozenset(),
    S.CANCELLED: frozenset(),
}

#: the return's state machine (``core.fsm``); only ``commerce.returns.services`` moves it
RETURN_MACHINE = StateMachine("return", RETURN_TRANSITIONS)

#: statuses whose units no longer count as "being returned" (the buyer may ask again for them)
RELEASED_STATUSES = frozenset({S.REJECTED, S.CANCELLED})

#: the ends a buyer may escalate to marketplace staff (a dispute)
ESCALATABLE_STATUSES = frozenset({S.REJECTED, S.REJECTED_AFTER_INSPECTION})

del S


class ReturnTransport(models.TextChoices):
    """How the parcel travels to the store: a marketplace ``courier`` (a return delivery the
    courier flow claims; the PIN is the store's) or a ``carrier`` the buyer chose (tracking
    number)."""

    COURIER = "courier", "Marketplace courier"
    CARRIER = "carrier", "Carrier with tracking number"


class RefundSource(models.TextChoices):
    """Where a return's refund came from: the order's escrow while it was still held, else the
    store's wallet (ledger kind ``return_refund``)."""

    ESCROW = "escrow", "Escrow (still held)"
    STORE_WALLET = "store_wallet", "The store's wallet"


class ReturnPolicy(models.Model):
    """A store's return rules. A store without a row has the defaults (``ReturnPolicy(vendor=v)``
    unsaved, :func:`commerce.returns.selectors.return_policy_for`).

    ``window_days``: a return may be requested until ``delivered_at + window_days`` (default
    ``RETURN_WINDOW_DAYS``, 14: the EU right of withdrawal, Directive 2011/83/EU art. 9; a store
    may give more, never less than ``RETURN_WINDOW_MIN_DAYS``). ``restocking_fee_max_percent``:
    the most the store may keep of a changed-mind line's price (0–100, default 0).
    ``resellable_grades``: inspection grades that go back to stock (default ``as_new``,
    ``opened``)."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="return_policy")
    window_days = models.PositiveSmallIntegerField(default=14)
    restocking_fee_max_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    resellable_grades = ArrayField(models.CharField(max_length=16, choices=ReturnGrade.choices),
                                   default=default_resellable_grades, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "return policies"
        constraints = [
            models.CheckConstraint(condition=Q(restocking_fee_max_percent__gte=0)
                                   & Q(restocking_fee_max_percent__lte=100), name="commerce_returnpolicy_fee_range"),
            models.CheckConstraint(condition=Q(window_days__lte=365), name="commerce_returnpolicy_window_range"),
        ]

    def __str__(self) -> str:
        return f"return policy of {self.vendor_id}: {self.window_days} days"


class ReturnRequest(models.Model):
    """One return (RMA) of lines of ``order`` by its buyer. ``status`` moves only along
    :data:`RETURN_TRANSITIONS` (``commerce.returns.services``); each move is a
    :class:`ReturnStatusChange`.

    ``window_ends_at`` is the policy's window as it was at the request. Transport: ``transport``
    with ``carrier`` / ``tracking_number`` (carrier mode) or ``pickup_delivery_id`` (the return
    delivery of the courier mode, owned by the delivery app; ``pickup_delivery_open`` while it has
not ended). The refund is decided at
    ``refunded_at``: ``refund_amount`` (lines + ``shipping_refund``), ``restocking_fee_percent``
    chosen by the store, ``refund_source``; ``refund_error`` keeps the code of the last refused
    attempt (e.g. ``insufficient_funds`` in the store's wallet) until one succeeds. ``dispute`` is
    the escalation of a rejected return to marketplace staff."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=32, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.CharField(max_length=32, choices=ReturnReason.choices)
    description = models.TextField(blank=True)
    window_ends_at = models.DateTimeField()
    decision_note = models.TextField(blank=True, help_text="The store's note when approving, its reason when rejecting")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    transport = models.CharField(max_length=16, choices=ReturnTransport.choices, blank=True)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    pickup_delivery_id = models.UUIDField(null=True, blank=True,
                                          help_text="The open or last return delivery (courier mode)")
    pickup_delivery_open = models.BooleanField(default=False,
                                               help_text="A courier is to carry it: the store completes with the PIN")
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    inspected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    inspection_note = models.TextField(blank=True)
    restocking_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    shipping_refund = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    refund_source = models.CharField(max_length=16, choices=RefundSource.choices, blank=True)
    refund_note = models.TextField(blank=True)
    refunded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_error = models.CharField(max_length=64, blank=True)
    dispute = models.OneToOneField(Dispute, null=True, blank=True, on_delete=models.PROTECT, related_name="return_request")
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["order", "status"], name="commerce_return_order"),
            models.Index(fields=["status", "created_at"], name="commerce_return_queue"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in ReturnStatus]),
                                   name="commerce_return_status_valid"),
            models.CheckConstraint(condition=Q(reason__in=[r.value for r in ReturnReason]),
                                   name="commerce_return_reason_valid"),
            models.CheckConstraint(condition=Q(refund_amount__gte=0) & Q(shipping_refund__gte=0)
                                   & Q(restocking_fee_percent__gte=0) & Q(restocking_fee_percent__lte=100),
                                   name="commerce_return_amounts_valid"),
        ]

    def __str__(self) -> str:
        return f"return {self.number} of {self.order_id} ({self.status})"

    @property
    def is_store_fault(self) -> bool:
        return self.reason in STORE_FAULT_REASONS


class ReturnLine(models.Model):
    """``quantity`` units of ``order_line`` in a return. Set at inspection: ``grade``,
    ``restocked_quantity`` (units put back in stock: the resellable grades, once); set at the
    refund: ``paid_amount`` (what the buyer paid for these units: the line total's share, the last
    units of a line taking what is left, so the shares never add up to more than the line),
    ``restocking_fee`` and ``refund_amount`` (never more than ``paid_amount``)."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    grade = models.CharField(max_length=16, choices=ReturnGrade.choices, blank=True)
    restocked_quantity = models.PositiveIntegerField(default=0)
    paid_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    restocking_fee = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "order_line"], name="commerce_returnline_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="commerce_returnline_quantity_gt_0"),
            models.CheckConstraint(condition=Q(restocked_quantity__lte=models.F("quantity")),
                                   name="commerce_returnline_restock_lte_quantity"),
            models.CheckConstraint(condition=Q(refund_amount__gte=0) & Q(restocking_fee__gte=0),
                                   name="commerce_returnline_amounts_gte_0"),
            models.CheckConstraint(condition=Q(paid_amount__isnull=True) | Q(refund_amount__lte=models.F("paid_amount")),
                                   name="commerce_returnline_refund_lte_paid"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.order_line_id} ({self.grade or 'not inspected'})"


class ReturnMediaStorage(FileSystemStorage):
    """Private storage of return photos: ``settings.RETURNS_MEDIA_ROOT`` (default ``<project>/
    .data/returns-media``), outside ``MEDIA_ROOT`` so no static route serves them; the buyer,
    the store's staff and marketplace staff get them through the API only. Read from settings at
    each use."""

    @property
    def base_location(self) -> str:  # type: ignore[override]
        root = getattr(settings, "RETURNS_MEDIA_ROOT", None) or Path(settings.BASE_DIR) / ".data" / "returns-media"
        return str(root)

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("return photos have no public URL; use the photo endpoint")


def return_media_storage() -> ReturnMediaStorage:
    """The storage of :class:`ReturnPhoto` files (a callable, so settings are read at use)."""
    return ReturnMediaStorage()


def return_photo_path(instance: "ReturnPhoto", filename: str) -> str:
    """``returns/<uploader>/<photo id>.<ext>`` (the extension from the re-encoded type)."""
    return f"returns/{instance.uploaded_by_id}/{instance.pk}.{instance.extension}"


class ReturnPhoto(PhotoFields):
    """A photo of a return, uploaded by the buyer before the request (``return_request`` null
    until the request attaches it; unattached ones are purged after a day). Decoded and
    re-encoded without metadata (``commerce.common.photos``)."""

    return_request = models.ForeignKey(ReturnRequest, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="photos")
    file = models.FileField(upload_to=return_photo_path, storage=return_media_storage, max_length=200)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["uploaded_by", "return_request"], name="commerce_returnphoto_owner")]

    def __str__(self) -> str:
        return f"{self.content_type} {self.width}x{self.height} ({self.return_request_id or 'unattached'})"


class ReturnStatusChange(models.Model):
    """Audit row: ``return_request`` went ``from_status -> to_status`` at ``created_at`` by
    ``actor`` (null for the system: the courier flow) with a ``reason``."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.return_request_id}: {self.from_status or '-'} -> {self.to_status}"
