"""Money held for users: wallets with their append-only ledger, holds, and the escrow of each paid
order.

A :class:`Wallet` changes only through ``commerce.wallet.services``, which appends a
:class:`LedgerEntry` in the same transaction. An :class:`Escrow` is the buyer's payment for an
order, held until the buyer-protection policy (``commerce.payments.escrow``) releases it to the
store or refunds it. The wallet room knows users and money only: it refers to orders by the
model label ``"commerce.Order"``, never by an import.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from commerce.common.money import DEFAULT_CURRENCY


class LedgerKind(models.TextChoices):
    """Kinds of wallet ledger entries. ``amount`` is the signed change of ``balance`` and
    ``held_amount`` the signed change of ``held_balance``:

    ``deposit`` (+, 0) money in from a payment gateway; ``hold`` (0, +) funds set aside (auction
    bids); ``release`` (0, −) a hold given back; ``payment`` (−, 0 or −) money out to pay an order,
    from available funds or from a hold; ``refund`` (±, 0) money back to a buyer (+) or taken back
    from a vendor after escrow release (−); ``payout`` (+, 0) escrow released to the vendor;
    ``commission`` (−/+, 0) the marketplace's share of a payout (and its reversal on a refund);
    ``withdrawal`` (−, −) money paid out of a hold to a store's bank account (``commerce.payouts``).
    """

    DEPOSIT = "deposit", "Deposit"
    HOLD = "hold", "Hold"
    RELEASE = "release", "Release"
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"
    PAYOUT = "payout", "Payout"
    COMMISSION = "commission", "Commission"
    WITHDRAWAL = "withdrawal", "Withdrawal"


class Wallet(models.Model):
    """A user's money in one ``currency``: ``balance`` (all funds) of which ``held_balance`` is
    set aside by active holds; available = balance − held. The database keeps
    0 <= held_balance <= balance. Every change goes through ``commerce.wallet.services`` which appends a
    :class:`LedgerEntry` in the same transaction, so ``balance == Σ entry.amount`` and
    ``held_balance == Σ entry.held_amount`` always."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallets")
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    held_balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    version = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="commerce_wallet_user_currency"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="commerce_wallet_balance_gte_0"),
            models.CheckConstraint(condition=Q(held_balance__gte=0), name="commerce_wallet_held_gte_0"),
            models.CheckConstraint(
                condition=Q(held_balance__lte=models.F("balance")), name="commerce_wallet_held_lte_balance"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="commerce_wallet_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"wallet {self.user_id} {self.balance} {self.currency} (held {self.held_balance})"

    @property
    def available(self) -> Decimal:
        """Funds that can be spent or held now: ``balance − held_balance``."""
        return self.balance - self.held_balance


class LedgerEntry(models.Model):
    """One append-only line of a wallet's ledger (see :class:`LedgerKind` for the signs).
    ``balance_after`` / ``held_after`` are the wallet's figures right after this entry.
    ``reference`` names what caused it (``order:<id>``, ``auction:<id>``, ``deposit:<id>``)."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    held_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    held_after = models.DecimalField(max_digits=14, decimal_places=2)
    reference = models.CharField(max_length=80, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["wallet", "-id"], name="commerce_ledger_wallet")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in LedgerKind]), name="commerce_ledger_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}/{self.held_amount} ({self.reference})"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    CAPTURED = "captured", "Captured"


class WalletHold(models.Model):
    """Funds of ``wallet`` set aside for ``reference`` (one active hold per wallet and reference,
    e.g. ``auction:<id>`` while the user leads it). Released, or captured into a payment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    reference = models.CharField(max_length=80)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "reference"], condition=Q(status="active"), name="commerce_hold_one_active"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_hold_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"hold {self.amount} for {self.reference} ({self.status})"


class EscrowStatus(models.TextChoices):
    HELD = "held", "Held"
    RELEASED = "released", "Released to vendor"
    REFUNDED = "refunded", "Refunded to buyer"


class EscrowReleaseReason(models.TextChoices):
    PROTECTION_ELAPSED = "protection_elapsed", "Buyer protection window elapsed"
    RECEIPT_CONFIRMED = "receipt_confirmed", "Buyer confirmed receipt"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved by staff"


class Escrow(models.Model):
    """The buyer's payment for ``order``, held by the marketplace until delivery is proven and the
    **buyer-protection window** has passed: ``release_after`` is set at proven delivery to
    delivered_at + ``BUYER_PROTECTION_DAYS`` (3). Then (or earlier, when the buyer confirms
    receipt) it is released to the vendor owner's wallet less ``commission``; never while a
    dispute of the order is open (``commerce.payments.escrow``). ``amount`` is what is still held (refunds
    before release lower it)."""

    order = models.OneToOneField("commerce.Order", on_delete=models.PROTECT, related_name="escrow")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=EscrowStatus.choices, default=EscrowStatus.HELD)
    commission = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    release_after = models.DateTimeField(null=True, blank=True,
                                         help_text="End of the buyer-protection window (set at proven delivery)")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=32, choices=EscrowReleaseReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "release_after"], name="commerce_escrow_due")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="commerce_escrow_amount_gte_0")]

    def __str__(self) -> str:
        return f"escrow {self.amount} {self.currency} of {self.order_id} ({self.status})"
