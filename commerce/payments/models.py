"""Payments: attempts to pay an order (card through a gateway, wallet, auction hold), refunds,
verified gateway webhook events and wallet top-ups by card.

Writes go through ``commerce.payments.services`` (three-step card charges, webhooks,
reconciliation, refunds).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.orders.models import Order


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card (payment gateway)"
    WALLET = "wallet", "Wallet"
    WALLET_HOLD = "wallet_hold", "Wallet hold (auction)"


class PaymentStatus(models.TextChoices):
    """Status of a payment attempt or a wallet deposit. ``pending`` from the moment the attempt is
    recorded (before the gateway is called) until the gateway's answer is applied;
    ``needs_refund`` when money was charged but could not be applied (the order was gone, the
    wallet would pass its limit, the settling transaction failed): the reconciliation task
    (``commerce.payments.services.payments_reconcile``) refunds it at the gateway and marks it
    ``reversed``."""

    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    NEEDS_REFUND = "needs_refund", "Charged, not applied: to be refunded"
    REVERSED = "reversed", "Charged, not applied: refunded"


class Payment(models.Model):
    """An attempt to pay ``order`` (``amount`` in ``currency``). Card payments go through a
    gateway (``gateway``, ``intent_id``); a pending one is settled by the gateway's webhook.
    At most one succeeded payment per order (database constraint). ``refunded_amount`` grows
    with refunds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    gateway = models.CharField(max_length=32, blank=True)
    intent_id = models.CharField(max_length=80, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    failure_code = models.CharField(max_length=64, blank=True)
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    reconcile_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="commerce_payment_status")]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status="succeeded"), name="commerce_payment_one_success"),
            models.UniqueConstraint(
                fields=["gateway", "intent_id"], condition=~Q(intent_id=""), name="commerce_payment_intent_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                name="commerce_payment_refunded_range",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.amount} {self.currency} for {self.order_id} ({self.status})"


class Refund(models.Model):
    """``amount`` given back to the buyer of ``payment``'s order, by ``actor`` (vendor staff or
    admin) for ``reason``; ``shipping_amount`` of it is the shipping fee given back (the rest is
    goods). ``gateway_refund_id`` is set for card payments."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    shipping_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    gateway_refund_id = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_refund_amount_gt_0"),
            models.CheckConstraint(condition=Q(shipping_amount__gte=0) & Q(shipping_amount__lte=models.F("amount")),
                                   name="commerce_refund_shipping_range"),
        ]


class PaymentWebhookEvent(models.Model):
    """A webhook event received from ``gateway``, unique by ``event_id``: a replayed or
    duplicated delivery finds its row and changes nothing."""

    gateway = models.CharField(max_length=32)
    event_id = models.CharField(max_length=120)
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    result = models.CharField(max_length=40, blank=True,
                              help_text="What the event did after the gateway was asked: payment_succeeded, "
                              "intent_mismatch, intent_pending, unknown_intent…")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="commerce_webhook_event_once")]


class WalletDeposit(models.Model):
    """A top-up of ``user``'s wallet through a card gateway; credited once when it succeeds
    (immediately, or by the gateway's webhook for a pending one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet_deposits")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=32)
    intent_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    failure_code = models.CharField(max_length=64, blank=True)
    reconcile_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="commerce_deposit_status")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_deposit_amount_gt_0")]
