"""Payouts: where a store's earnings go (its bank details, verified by marketplace staff) and the
withdrawals that take them there.

A store's earnings are paid into the wallet of its *account holder* (``Vendor.owner``; escrow
releases, ``commerce.payments.escrow``). A :class:`Withdrawal` moves available money of that
wallet to the store's verified bank account: a hold while staff look at it, a ``withdrawal``
debit when they mark it paid (``commerce.payouts.services``, the one owner of both machines
below). Table names stay ``commerce_*``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fsm import StateMachine

from commerce.common.money import DEFAULT_CURRENCY


class BankDetailsStatus(models.TextChoices):
    """Verification of a store's bank details by marketplace staff: ``unverified`` until staff
    check them (against the store's documents), then ``verified`` or ``rejected``; changed
    details are ``unverified`` again."""

    UNVERIFIED = "unverified", "Waiting for verification"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


#: allowed moves of bank details {from: {to, ...}}; ``-> unverified`` only when the store changes them
BANK_DETAILS_TRANSITIONS: dict[str, frozenset[str]] = {
    BankDetailsStatus.UNVERIFIED: frozenset({BankDetailsStatus.VERIFIED, BankDetailsStatus.REJECTED}),
    BankDetailsStatus.VERIFIED: frozenset({BankDetailsStatus.UNVERIFIED}),
    BankDetailsStatus.REJECTED: frozenset({BankDetailsStatus.UNVERIFIED}),
}
#: the bank details' state machine (``core.fsm``); only ``commerce.payouts.services`` moves it
BANK_DETAILS_MACHINE = StateMachine("bank account", BANK_DETAILS_TRANSITIONS)


class PayoutAccount(models.Model):
    """A store's payout settings: its bank details (``iban`` and ``bic`` in compact upper-case
    form, checked with python-stdnum; ``holder_name`` as on the account) with their verification
    ``status``, and the smallest withdrawal it accepts (``minimum_amount`` in ``currency``, at
    least ``PAYOUT_MINIMUM_FLOOR``)."""

    vendor = models.OneToOneField("commerce.Vendor", on_delete=models.CASCADE, related_name="payout_account")
    holder_name = models.CharField(max_length=140)
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11)
    status = models.CharField(max_length=16, choices=BankDetailsStatus.choices, default=BankDetailsStatus.UNVERIFIED)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    minimum_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("10.00"))
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "updated_at"], name="commerce_payoutacct_status")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in BankDetailsStatus]),
                                   name="commerce_payoutacct_status_valid"),
            models.CheckConstraint(condition=Q(minimum_amount__gt=0), name="commerce_payoutacct_minimum_gt_0"),
        ]

    def __str__(self) -> str:
        return f"payout account of {self.vendor_id} ({self.status})"


class WithdrawalStatus(models.TextChoices):
    """A withdrawal's life: ``requested`` by a store owner (the amount is held in the wallet),
    ``approved`` by marketplace staff, then ``paid`` (with the bank's reference; the hold becomes
    a debit) — or ``rejected`` by staff (before payment) or ``cancelled`` by the store (while
    requested): the hold is released."""

    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    PAID = "paid", "Paid"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


W = WithdrawalStatus
#: allowed moves of a withdrawal {from: {to, ...}}
WITHDRAWAL_TRANSITIONS: dict[str, frozenset[str]] = {
    W.REQUESTED: frozenset({W.APPROVED, W.REJECTED, W.CANCELLED}),
    W.APPROVED: frozenset({W.PAID, W.REJECTED}),
    W.PAID: frozenset(),
    W.REJECTED: frozenset(),
    W.CANCELLED: frozenset(),
}
#: the withdrawal's state machine (``core.fsm``); only ``commerce.payouts.services`` moves it
WITHDRAWAL_MACHINE = StateMachine("withdrawal", WITHDRAWAL_TRANSITIONS)
#: statuses whose amount is still held in the wallet
PENDING_STATUSES = (W.REQUESTED, W.APPROVED)
del W


class Withdrawal(models.Model):
    """A request to pay ``amount`` of the store's earnings (from the wallet of
    ``account_holder``) to its bank account. The bank details are copied when it is requested
    (``holder_name``, ``iban``, ``bic``): staff pay what was verified then, whatever the store
    changes later. While pending, the amount is a wallet hold with reference
    :attr:`hold_reference`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey("commerce.Vendor", on_delete=models.PROTECT, related_name="withdrawals")
    account_holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    status = models.CharField(max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.REQUESTED)
    holder_name = models.CharField(max_length=140)
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11)
    bank_reference = models.CharField(max_length=64, blank=True, help_text="The bank transfer's reference (paid)")
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was rejected or cancelled")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="commerce_withdrawal_status"),
            models.Index(fields=["vendor", "-created_at"], name="commerce_withdrawal_vendor"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_withdrawal_amount_gt_0"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in WithdrawalStatus]),
                                   name="commerce_withdrawal_status_valid"),
            models.CheckConstraint(condition=~Q(status="paid") | ~Q(bank_reference=""),
                                   name="commerce_withdrawal_paid_has_reference"),
        ]

    def __str__(self) -> str:
        return f"withdrawal {self.amount} {self.currency} of {self.vendor_id} ({self.status})"

    @property
    def hold_reference(self) -> str:
        """The wallet hold's reference while the withdrawal is pending: ``withdrawal:<id>``."""
        return f"withdrawal:{self.pk}"
