"""Payments, refunds, wallet deposits, gateway webhooks and reconciliation.

* :func:`payment_create` — the buyer pays a ``pending_payment`` order by card (through the
  configured gateway, ``commerce.payments.gateways``) or from their wallet. At most one succeeded payment
  per order (database constraint) and at most one attempt in flight (re-checked under the order
  lock).
* :func:`deposit_create` — top up a wallet by card; refused *before* the card is charged when the
  balance would pass what the wallet stores (``commerce.wallet.services.MAX_BALANCE``).
* :func:`payments_handle_webhook` — a verified, de-duplicated gateway event is only a hint: the
  handler asks the gateway for the intent's state (``retrieve_intent``) and applies that, and only
  when the intent is ours and matches our record (amount, currency) and the gateway agrees with
  the event. Unknown or mismatched intents, or an intent the gateway still calls pending, change
  nothing (the event row records why).
* :func:`payments_reconcile` — Celery beat: refunds charges that could not be applied
  (``needs_refund`` → ``reversed``) and settles card attempts left ``pending`` (a lost webhook, a
  gateway timeout) from the gateway's own state.
* :func:`refund_create` — vendor staff or an admin give money back, full or partial; a full
  refund moves the order to ``refunded``. Before release the money comes out of escrow; after it,
  out of the vendor's wallet (the commission share is given back to the vendor).
* Escrow (held until delivery is proven and the buyer-protection window passed) is
  ``commerce.payments.escrow``; disputes are ``commerce.disputes.services``.
* Cancelling a paid order refunds it: :func:`refund_locked` answers the orders room's
  ``order_cancelling`` signal (``commerce.payments.receivers``).

**A card charge in three steps** (Stripe's advice for idempotent payment flows): (1) the attempt
is recorded ``pending`` and committed, under the order lock, which also refuses a second attempt
while one is in flight; (2) the gateway is called with no lock held and no transaction open, with
the attempt's id as idempotency key and reference (``payment:<id>`` / ``deposit:<id>``); (3) a
second transaction applies the answer under the locks. A refusal by the gateway marks the
attempt ``failed``; an unreachable gateway leaves it ``pending`` (503 ``gateway_unavailable``)
and reconciliation finds the intent by its reference; money charged that cannot be applied (the
order is no longer payable, the wallet is full, the settling transaction failed) is marked
``needs_refund`` and refunded at the gateway (``reversed``). So a charge never exists without a
record of it. REST runs these with ``Idempotency-Key`` in its non-atomic mode
(``core.idempotency``), so step 1 survives whatever happens after it.

Events (after commit): the order moves publish ``order.status_changed`` / ``order.created``
(``commerce.orders.services``); a payment held in escrow publishes ``escrow.updated`` (``held``);
a refund publishes ``order.refunded`` (``commerce.payments.events``) to the buyer and the store;
wallets publish ``wallet.updated``; the buyer is notified
``payment.succeeded`` / ``payment.failed`` / ``payment.refunded`` (critical kinds).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import Address
from core.utils import parse_uuid
from notifications.kinds import PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_SUCCEEDED
from notifications.services import notify
from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from commerce.cart.services import cart_remove_products
from commerce.orders.checkout import checkout_complete_if_paid
from commerce.orders.models import Checkout, Order, OrderLine, OrderSource, OrderStatus, OrderStatusChange
from commerce.orders.permissions import can_refund_order, can_view_order, is_order_buyer
from commerce.orders.services import (
    address_snapshot,
    lock_order,
    order_apply_transition,
    order_number,
    order_placed,
    order_require_transition,
    reservations_consume,
)
from commerce.payments.escrow import commission_for, open_dispute_id, publish_escrow
from commerce.payments.events import OrderRefunded
from commerce.payments.gateways import GatewayError, Intent, PaymentGateway, get_gateway
from commerce.payments.models import Payment, PaymentMethod, PaymentStatus, PaymentWebhookEvent, Refund, WalletDeposit
from commerce.payments.signals import payment_succeeded, refund_created
from commerce.stores.events import VENDOR_TOPIC
from commerce.tax.calculation import tax_line
from commerce.tax.models import TaxClass
from commerce.tax.selectors import rates_for_country
from commerce.wallet import services as wallets
from commerce.wallet.models import Escrow, EscrowStatus, LedgerKind

logger = logging.getLogger(__name__)

#: webhook event types this project acts on, and the intent status each one claims
EVENT_CLAIMS = {"payment_intent.succeeded": "succeeded", "payment_intent.payment_failed": "failed"}


def _lock_checkout_then_order(order_id: uuid.UUID) -> Order:
    """Lock the order's checkout (if any) then the order: the project's lock order."""
    checkout_id = Order.objects.filter(pk=order_id).values_list("checkout_id", flat=True).first()
    if checkout_id:
        Checkout.objects.select_for_update().filter(pk=checkout_id).first()
    return lock_order(order_id)


def _mark_paid(*, order: Order, payment: Payment) -> None:
    """A locked pending order whose ``payment`` just succeeded: payment row, reservations
    consumed (the sale), escrow held, order ``paid``, checkout completed when all its orders are
    settled, the products leave the buyer's cart, ``payment_succeeded`` sent (the invoice is
    issued: its counter is the last row this transaction locks), buyer notified."""
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.save(update_fields=["status", "succeeded_at", "updated_at"])
    reservations_consume(order=order)
    escrow = Escrow.objects.create(order=order, amount=payment.amount, currency=payment.currency)
    order_apply_transition(order=order, to_status=OrderStatus.PAID, reason="payment_succeeded")
    publish_escrow(order=order, escrow=escrow, reason="held")
    if order.checkout_id:
        checkout_complete_if_paid(checkout_id=order.checkout_id)
        product_ids = [pid for pid in order.lines.values_list("product_id", flat=True) if pid]
        if product_ids:
            cart_remove_products(user=order.buyer, product_ids=product_ids)
    payment_succeeded.send(sender=Payment, payment=payment, order=order)
    notify(
        recipients=[order.buyer_id],
        kind=PAYMENT_SUCCEEDED.name,
        title=f"Payment received for order {order.number}",
        body=f"We received {payment.amount:.2f} {payment.currency} for order {order.number}.",
        data={"order_id": str(order.id), "payment_id": str(payment.id), "url": f"/orders/{order.id}"},
        target=order,
    )


def _mark_failed(*, order: Order, payment: Payment, failure_code: str) -> None:
    payment.status = PaymentStatus.FAILED
    payment.failure_code = failure_code[:64] or "payment_failed"
    payment.save(update_fields=["status", "failure_code", "updated_at"])
    notify(
        recipients=[order.buyer_id],
        kind=PAYMENT_FAILED.name,
        title=f"Payment failed for order {order.number}",
        body=f"Your payment for order {order.number} failed ({payment.failure_code.replace('_', ' ')}).",
        data={"order_id": str(order.id), "payment_id": str(payment.id), "failure_code": payment.failure_code},
        target=order,
    )


def payment_create(*, user, order_id: Any, method: str, card_token: str = "", idempotency_key: str = "") -> Payment:
    """The buyer pays order ``order_id`` in full by ``method`` ``card`` (``card_token``) or
    ``wallet``. Returns the Payment: ``succeeded`` (order paid), ``pending`` (settled later by a
    webhook or reconciliation), ``failed`` (declined; the order stays payable and a new attempt
    may follow) or ``reversed`` (charged after the order stopped being payable, refunded).

    A card payment runs in three steps (module docstring): the attempt is committed before the
    gateway is called, so call this outside a transaction for that guarantee.

    Raises ``NotFound`` ``order_not_found`` (not the buyer's), ``Conflict`` ``order_not_payable``
    (not ``pending_payment``: paid, cancelled, expired), ``payment_pending`` (another attempt is
    still pending), ``insufficient_funds`` (wallet), ``GatewayError`` ``invalid_card_token`` (the
    attempt is recorded ``failed``), ``ApplicationError`` ``invalid_method`` / ``invalid``, and
    503 ``gateway_unavailable`` (the attempt stays ``pending`` for reconciliation).
    """
    if method not in (PaymentMethod.CARD, PaymentMethod.WALLET):
        raise ApplicationError("method must be card or wallet.", code="invalid_method",
                               fields={"method": ["card or wallet"]})
    if method == PaymentMethod.CARD and not card_token:
        raise ApplicationError("card_token is required for a card payment.", code="invalid",
                               fields={"card_token": ["This field is required."]})
    oid = parse_uuid(order_id)
    if oid is None:
        raise NotFound("Order not found.", code="order_not_found")
    gateway = get_gateway() if method == PaymentMethod.CARD else None
    with transaction.atomic():
        order = _lock_checkout_then_order(oid)
        if not is_order_buyer(user, order):
            raise NotFound("Order not found.", code="order_not_found")
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise Conflict(f"Order {order.number} is {order.status} and cannot be paid.", code="order_not_payable",
                           extra={"status": order.status})
        if order.reservation_expires_at and order.reservation_expires_at <= timezone.now():
            raise Conflict("The stock reservation of this order has expired.", code="order_not_payable",
                           extra={"status": "reservation_expired"})
        if order.payments.filter(status=PaymentStatus.PENDING).exists():
            raise Conflict("A payment of this order is still pending.", code="payment_pending")
        payment = Payment.objects.create(order=order, method=method, amount=order.total, currency=order.currency,
                                         gateway=gateway.name if gateway else "")
        if method == PaymentMethod.WALLET:
            wallets.wallet_debit(user=user, amount=order.total, currency=order.currency, kind=LedgerKind.PAYMENT,
                                 reference=f"order:{order.id}", memo=f"Order {order.number}")
            _mark_paid(order=order, payment=payment)
            return payment
    intent = _charge(gateway, kind="payment", row=payment, token=card_token)
    _settle_attempt(kind="payment", row_id=payment.pk, intent=intent)
    payment.refresh_from_db()
    return payment


def deposit_create(*, user, amount: Any, card_token: str, currency: str = "EUR") -> WalletDeposit:
    """Top up ``user``'s wallet with ``amount`` by card. A succeeded charge credits the wallet
    at once (``deposit`` entry), a pending one when the gateway confirms it (webhook or
    reconciliation); a declined one is recorded ``failed`` and credits nothing.

    Checked before the card is charged: the amount (``invalid_amount``), the currency, the token,
    and that the wallet can hold the new balance (``Conflict`` ``wallet_limit_exceeded``, 409,
    with ``max_credit``). Should a concurrent credit fill the wallet meanwhile, the charge is
    recorded ``needs_refund`` and refunded by reconciliation. Raises also ``GatewayError``
    ``invalid_card_token`` and 503 ``gateway_unavailable`` (see :func:`payment_create`)."""
    amount = wallets.validate_amount(amount)
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise ApplicationError("currency must be an ISO 4217 code.", code="invalid", fields={"currency": ["ISO 4217"]})
    if not card_token:
        raise ApplicationError("card_token is required.", code="invalid", fields={"card_token": ["This field is required."]})
    wallets.wallet_check_capacity(user=user, currency=currency, amount=amount)
    gateway = get_gateway()
    deposit = WalletDeposit.objects.create(user=user, amount=amount, currency=currency, gateway=gateway.name)
    intent = _charge(gateway, kind="deposit", row=deposit, token=card_token)
    _settle_attempt(kind="deposit", row_id=deposit.pk, intent=intent)
    deposit.refresh_from_db()
    return deposit


# --- the gateway's answer ------------------------------------------------------------------


def _model(kind: str):
    return Payment if kind == "payment" else WalletDeposit


def _charge(gateway: PaymentGateway, *, kind: str, row: Payment | WalletDeposit, token: str) -> Intent:
    """Step 2: ask ``gateway`` to charge a recorded attempt (no lock held). A refusal marks it
    ``failed`` and is raised; any other error leaves it ``pending`` for reconciliation and raises
    503 ``gateway_unavailable``."""
    reference = f"{kind}:{row.pk}"
    try:
        return gateway.create_intent(amount=row.amount, currency=row.currency, token=token, reference=reference,
                                     idempotency_key=reference)
    except GatewayError as exc:
        _model(kind).objects.filter(pk=row.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.FAILED, failure_code=str(exc.code)[:64], updated_at=timezone.now())
        raise
    except Exception as exc:  # noqa: BLE001 - the outcome is unknown: reconciliation asks the gateway later
        logger.warning("gateway %s: charging %s failed; the attempt stays pending for reconciliation",
                       gateway.name, reference, exc_info=True)
        _model(kind).objects.filter(pk=row.pk, status=PaymentStatus.PENDING).update(
            failure_code="gateway_unreachable", updated_at=timezone.now())
        raise ApplicationError("The payment provider could not be reached; nothing is settled yet. Check the "
                               "payment's status before trying again.", code="gateway_unavailable", status=503,
                               extra={"retry_after": 30}) from exc


def _settle_attempt(*, kind: str, row_id: uuid.UUID, intent: Intent) -> str:
    """Step 3: apply the gateway's answer to a recorded attempt in its own transaction. Should
    that fail after a successful charge, the attempt is marked ``needs_refund`` (a separate
    transaction) before the error goes on, so reconciliation gives the money back."""
    try:
        with transaction.atomic():
            if kind == "payment":
                return _settle_payment(payment_id=row_id, intent=intent)
            return _settle_deposit(deposit_id=row_id, intent=intent)
    except Exception:
        if intent.status == "succeeded":
            _model(kind).objects.filter(pk=row_id, status=PaymentStatus.PENDING).update(
                status=PaymentStatus.NEEDS_REFUND, intent_id=intent.id, failure_code="settle_failed",
                updated_at=timezone.now())
            logger.error("%s %s was charged (%s) but could not be settled; marked needs_refund", kind, row_id,
                         intent.id, exc_info=True)
        raise


def _mismatch(row: Payment | WalletDeposit, intent: Intent) -> str | None:
    """``intent_mismatch`` when the gateway's intent is not the one recorded for ``row`` or
    disagrees with it on amount or currency; None when it matches."""
    if (row.intent_id and intent.id != row.intent_id) or intent.amount != row.amount or intent.currency != row.currency:
        logger.warning("intent %s does not match %s %s (%s %s vs %s %s)", intent.id, type(row).__name__, row.pk,
                       intent.amount, intent.currency, row.amount, row.currency)
        return "intent_mismatch"
    return None


def _check_intent(row: Payment | WalletDeposit, intent: Intent) -> str | None:
    """The common start of settling a *locked* attempt with the gateway's ``intent``: a result
    that ends it here (``already_settled``, ``intent_mismatch``, ``intent_pending``), or None to
    go on (the intent id is recorded first when the create call's answer was lost)."""
    if row.status != PaymentStatus.PENDING:
        return "already_settled"
    mismatch = _mismatch(row, intent)
    if mismatch:
        return mismatch
    if not row.intent_id:
        row.intent_id = intent.id
        row.save(update_fields=["intent_id", "updated_at"])
    return "intent_pending" if intent.status == "pending" else None


def _reverse_locked(*, row: Payment | WalletDeposit, reason: str) -> bool:
    """Refund at the gateway all of a *locked* attempt in ``needs_refund`` (charged, never
    applied) and mark it ``reversed``; the buyer is notified. False (and ``reconcile_attempts``
    counted) when the gateway refuses or cannot be reached: the reconciliation sweep retries."""
    kind = "payment" if isinstance(row, Payment) else "deposit"
    try:
        gw_refund = get_gateway(row.gateway).refund(intent_id=row.intent_id, amount=row.amount,
                                                    idempotency_key=f"reverse:{kind}:{row.pk}")
    except Exception:  # noqa: BLE001 - retried by payments_reconcile
        row.reconcile_attempts += 1
        row.save(update_fields=["reconcile_attempts", "updated_at"])
        logger.warning("refund of unapplied %s %s failed (attempt %d); retried later", kind, row.pk,
                       row.reconcile_attempts, exc_info=True)
        return False
    row.status = PaymentStatus.REVERSED
    fields = ["status", "updated_at"]
    if isinstance(row, Payment):
        Refund.objects.create(payment=row, amount=row.amount, reason=reason[:200], gateway_refund_id=gw_refund.id)
        row.refunded_amount = row.amount
        fields.append("refunded_amount")
        buyer_id, what, target = row.order.buyer_id, f"your payment for order {row.order.number}", row.order
    else:
        buyer_id, what, target = row.user_id, "your wallet top-up", row
    row.save(update_fields=fields)
    notify(recipients=[buyer_id], kind=PAYMENT_REFUNDED.name, title="Charge refunded",
           body=f"We could not apply {what} ({reason.replace('_', ' ')}); {row.amount:.2f} {row.currency} is on its "
           "way back to your card.",
           data={f"{kind}_id": str(row.pk), "amount": f"{row.amount:.2f}", "reason": reason}, target=target)
    return True


def _settle_payment(*, payment_id: uuid.UUID, intent: Intent) -> str:
    """Apply the gateway's state of a card attempt (locks checkout, order, payment). Returns what
    happened: ``payment_succeeded``, ``payment_failed``, ``intent_pending``, ``intent_mismatch``,
    ``already_settled``, ``refunded_late_payment`` (charged after the order stopped being payable:
    refunded) or ``needs_refund`` (that refund will be retried)."""
    order_id = Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get()
    order = _lock_checkout_then_order(order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    early = _check_intent(payment, intent)
    if early:
        return early
    if intent.status != "succeeded":
        _mark_failed(order=order, payment=payment, failure_code=intent.failure_code or "payment_failed")
        return "payment_failed"
    if order.status == OrderStatus.PENDING_PAYMENT:
        _mark_paid(order=order, payment=payment)
        return "payment_succeeded"
    # The money arrived after the order was cancelled (reservation expired): give it back.
    payment.status, payment.failure_code = PaymentStatus.NEEDS_REFUND, "order_not_payable"
    payment.save(update_fields=["status", "failure_code", "updated_at"])
    payment.order = order
    return "refunded_late_payment" if _reverse_locked(row=payment, reason="order_not_payable") else "needs_refund"


def _settle_deposit(*, deposit_id: uuid.UUID, intent: Intent) -> str:
    """Apply the gateway's state of a deposit (locks deposit, then wallet): ``deposit_succeeded``,
    ``deposit_failed``, ``intent_pending``, ``intent_mismatch``, ``already_settled``, or
    ``deposit_reversed`` / ``deposit_needs_refund`` when the wallet cannot hold it."""
    deposit = WalletDeposit.objects.select_for_update().get(pk=deposit_id)
    early = _check_intent(deposit, intent)
    if early:
        return early
    if intent.status == "succeeded":
        try:
            with transaction.atomic():
                wallets.wallet_credit(user=deposit.user_id, amount=deposit.amount, currency=deposit.currency,
                                      kind=LedgerKind.DEPOSIT, reference=f"deposit:{deposit.id}")
        except Conflict as exc:  # wallet_limit_exceeded: another credit filled the wallet meanwhile
            deposit.status, deposit.failure_code = PaymentStatus.NEEDS_REFUND, exc.code
            deposit.save(update_fields=["status", "failure_code", "updated_at"])
            _reverse_locked(row=deposit, reason=exc.code)
            return "deposit_" + deposit.status
        deposit.status = PaymentStatus.SUCCEEDED
    else:
        deposit.status = PaymentStatus.FAILED
        deposit.failure_code = intent.failure_code[:64] or "payment_failed"
    deposit.save(update_fields=["status", "failure_code", "updated_at"])
    return "deposit_" + deposit.status


def _attempt_for_intent(gateway_name: str, intent_id: str) -> tuple[str, uuid.UUID] | None:
    """``("payment"|"deposit", id)`` of our attempt with this gateway intent, or None."""
    if not intent_id:
        return None
    pid = Payment.objects.filter(gateway=gateway_name, intent_id=intent_id).values_list("pk", flat=True).first()
    if pid:
        return "payment", pid
    did = WalletDeposit.objects.filter(gateway=gateway_name, intent_id=intent_id).values_list("pk", flat=True).first()
    return ("deposit", did) if did else None


def payments_handle_webhook(*, gateway_name: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Verify and apply one webhook delivery of ``gateway_name``. Returns ``{"event_id",
    "result"}``. The payload is never taken at its word: for an intent of ours the gateway is
    asked (``retrieve_intent``, before any lock) and its answer is applied only when it agrees
    with the event and with our record. ``result``: ``duplicate`` (this event id was seen; nothing
    changes), ``ignored`` (a type we do not act on), ``unknown_intent`` (not ours, or unknown to
    the gateway), ``intent_pending`` (the gateway says it is still pending), ``status_mismatch``
    (the gateway says otherwise than the event), ``intent_mismatch`` (amount or currency differ
    from our record), or the settlement's result (``payment_succeeded``, ``deposit_succeeded``…).

    Raises ``WebhookSignatureError`` (400 ``invalid_signature`` / ``invalid_webhook``) and
    ``GatewayError`` ``unknown_gateway`` (404) with nothing changed; an error asking the gateway
    propagates (5xx: the provider retries the delivery) with nothing recorded."""
    gateway = get_gateway(gateway_name)
    event = gateway.parse_webhook(body=body, headers=headers)
    if PaymentWebhookEvent.objects.filter(gateway=gateway.name, event_id=event.id).exists():
        return {"event_id": event.id, "result": "duplicate"}
    claimed = EVENT_CLAIMS.get(event.type)
    target = _attempt_for_intent(gateway.name, event.intent_id) if claimed else None
    intent: Intent | None = None
    if target is not None:
        try:
            intent = gateway.retrieve_intent(intent_id=event.intent_id)
        except GatewayError:
            intent = None
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = PaymentWebhookEvent.objects.create(gateway=gateway.name, event_id=event.id, type=event.type,
                                                         payload=event.payload)
        except IntegrityError:
            return {"event_id": event.id, "result": "duplicate"}
        if claimed is None:
            result = "ignored"
        elif target is None or intent is None or intent.id != event.intent_id:
            result = "unknown_intent"
        elif intent.status == "pending":
            result = "intent_pending"
        elif intent.status != claimed:
            result = "status_mismatch"
        elif target[0] == "payment":
            result = _settle_payment(payment_id=target[1], intent=intent)
        else:
            result = _settle_deposit(deposit_id=target[1], intent=intent)
        row.result = result[:40]
        row.save(update_fields=["result"])
        if result in ("unknown_intent", "intent_mismatch", "status_mismatch"):
            logger.warning("webhook %s of %s for intent %s: %s (nothing changed)", event.id, gateway.name,
                           event.intent_id, result)
        return {"event_id": event.id, "result": result}


def payments_reconcile(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Beat (every minute): make every card charge end in a record that reconciles.

    1. Attempts in ``needs_refund`` are refunded at the gateway (``reversed``); a failure counts
       in ``reconcile_attempts`` and is retried next time.
    2. Card payments and deposits still ``pending`` after ``PAYMENT_RECONCILE_AFTER_SECONDS``
       (300) are settled from the gateway's state (``retrieve_intent``, or ``find_intent`` by
       reference when the create call's answer was lost), exactly as a verified webhook would be.
       One with no intent at the gateway after ``PAYMENT_ABANDON_AFTER_SECONDS`` (3600) was never
       charged: it is marked ``failed`` (``gateway_no_intent``) so the order can be paid again.

    Returns counts ``{"reversed", "settled", "pending", "abandoned", "errors"}``. Idempotent."""
    now = now or timezone.now()
    counts = {"reversed": 0, "settled": 0, "pending": 0, "abandoned": 0, "errors": 0}
    after = timedelta(seconds=float(getattr(settings, "PAYMENT_RECONCILE_AFTER_SECONDS", 300)))
    abandon = timedelta(seconds=float(getattr(settings, "PAYMENT_ABANDON_AFTER_SECONDS", 3600)))
    for kind, model in (("payment", Payment), ("deposit", WalletDeposit)):
        for pk in list(model.objects.filter(status=PaymentStatus.NEEDS_REFUND).order_by("updated_at")
                       .values_list("pk", flat=True)[:limit]):
            with transaction.atomic():
                row = model.objects.select_for_update().filter(pk=pk, status=PaymentStatus.NEEDS_REFUND).first()
                if row is not None:
                    if kind == "payment":
                        row.order = Order.objects.get(pk=row.order_id)
                    ok = _reverse_locked(row=row, reason=row.failure_code or "not_applied")
                    counts["reversed" if ok else "errors"] += 1
        stale = model.objects.filter(status=PaymentStatus.PENDING, created_at__lt=now - after).exclude(gateway="")
        if kind == "payment":
            stale = stale.filter(method=PaymentMethod.CARD)
        for row in list(stale.order_by("created_at")[:limit]):
            gateway = get_gateway(row.gateway)
            try:
                intent = (gateway.retrieve_intent(intent_id=row.intent_id) if row.intent_id
                          else gateway.find_intent(reference=f"{kind}:{row.pk}"))
            except GatewayError:
                intent = None
            except Exception:  # noqa: BLE001 - the gateway is down: next time
                counts["errors"] += 1
                logger.warning("reconciliation could not ask %s about %s %s", gateway.name, kind, row.pk, exc_info=True)
                continue
            if intent is None:
                if row.created_at < now - abandon:
                    model.objects.filter(pk=row.pk, status=PaymentStatus.PENDING).update(
                        status=PaymentStatus.FAILED, failure_code="gateway_no_intent", updated_at=now)
                    counts["abandoned"] += 1
                else:
                    counts["pending"] += 1
                continue
            try:
                result = _settle_attempt(kind=kind, row_id=row.pk, intent=intent)
            except Exception:  # noqa: BLE001 - marked needs_refund when charged; next time
                counts["errors"] += 1
                logger.warning("reconciliation could not settle %s %s", kind, row.pk, exc_info=True)
                continue
            counts["pending" if result == "intent_pending" else "settled"] += 1
    return counts


# --- refunds -------------------------------------------------------------------------------


def refundable_amounts(*, order: Order) -> dict[str, Decimal]:
    """What is left to refund of ``order``: ``{"total", "goods", "shipping"}`` (``Decimal``,
    ``order.currency``): ``shipping`` is the shipping fee not given back yet, ``goods`` the
    rest. Zero everywhere for an unpaid order."""
    zero = Decimal("0.00")
    payment = order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
    if payment is None:
        return {"total": zero, "goods": zero, "shipping": zero}
    total = payment.amount - payment.refunded_amount
    shipping_back = payment.refunds.aggregate(s=Sum("shipping_amount"))["s"] or zero
    shipping = max(zero, min(order.shipping_total - shipping_back, total))
    return {"total": total, "goods": total - shipping, "shipping": shipping}


def _shipping_part(*, order: Order, amount: Decimal, shipping_amount: Decimal | None) -> Decimal:
    """How much of a refund of ``amount`` is shipping (the rules: README, "Shipping"): all the
    shipping left for a refund of everything left; otherwise ``shipping_amount`` when the caller
    says (at most the shipping left, and the goods part at most the goods left), else only what
    the goods left cannot cover (a partial refund gives goods back first). Raises ``Conflict``
    ``refund_exceeds_payment``."""
    left = refundable_amounts(order=order)
    if amount > left["total"]:
        raise Conflict(f"At most {left['total']:.2f} {order.currency} can be refunded.", code="refund_exceeds_payment",
                       extra={"refundable": f"{left['total']:.2f}", "refundable_shipping": f"{left['shipping']:.2f}"})
    if amount == left["total"]:
        return left["shipping"]
    if shipping_amount is None:
        return max(Decimal("0.00"), amount - left["goods"])
    if shipping_amount < 0 or shipping_amount > min(amount, left["shipping"]) or amount - shipping_amount > left["goods"]:
        raise Conflict(f"At most {left['shipping']:.2f} {order.currency} of shipping and {left['goods']:.2f} of goods "
                       "can be refunded.", code="refund_exceeds_payment",
                       extra={"refundable": f"{left['total']:.2f}", "refundable_shipping": f"{left['shipping']:.2f}"})
    return shipping_amount


def refund_locked(*, order: Order, amount: Decimal, actor=None, reason: str = "", set_status: bool = True,
                  shipping_amount: Decimal | None = None, lines: list[dict[str, Any]] | None = None,
                  store_ledger_kind: str = LedgerKind.REFUND) -> Refund:
    """Refund ``amount`` of a locked order's succeeded payment to the buyer (see the module
    docstring for where the money comes from). With ``set_status`` a refund that completes the
    total moves the order to ``refunded``.

    Shipping: a refund of everything left includes the shipping fee left; a partial one gives
    goods back first and the fee only for what the goods cannot cover, unless the caller says
    how much of ``amount`` is shipping (``shipping_amount``: a store refunding the fee, the
    returns room deciding it). ``lines`` (``[{"order_line_id", "quantity", "amount"}]``) says
    which goods the rest is for; both go with ``commerce.payments.signals.refund_created`` (the
    credit note). ``store_ledger_kind`` names the entry that takes the money back from the store's
    wallet after release (``refund``; returns write ``return_refund``). Raises ``Conflict`` ``not_paid``, ``refund_exceeds_payment``,
    ``insufficient_funds`` (vendor wallet after release), ``core.fsm.InvalidTransition`` (a
    full refund while out for delivery)."""
    payment = order.payments.select_for_update().filter(status=PaymentStatus.SUCCEEDED).first()
    if payment is None:
        raise Conflict("This order has no payment to refund.", code="not_paid")
    remaining = payment.amount - payment.refunded_amount
    shipping_part = _shipping_part(order=order, amount=amount, shipping_amount=shipping_amount)
    full = amount == remaining
    if set_status and full:
        order_require_transition(order=order, to_status=OrderStatus.REFUNDED,
                                 detail=f"An order cannot be refunded in full while {order.status}.")
    _take_back(order=order, payment=payment, amount=amount, ledger_kind=store_ledger_kind)
    refund = Refund(payment=payment, amount=amount, shipping_amount=shipping_part, reason=(reason or "")[:200],
                    actor=actor if getattr(actor, "pk", None) else None)
    if payment.method == PaymentMethod.CARD:
        gw = get_gateway(payment.gateway)
        refund.gateway_refund_id = gw.refund(intent_id=payment.intent_id, amount=amount,
                                             idempotency_key=f"refund:{payment.id}:{payment.refunded_amount}").id
    else:
        wallets.wallet_credit(user=order.buyer_id, amount=amount, currency=payment.currency, kind=LedgerKind.REFUND,
                              reference=f"order:{order.id}", memo=f"Refund of order {order.number}")
    refund.save()
    payment.refunded_amount += amount
    payment.save(update_fields=["refunded_amount", "updated_at"])
    order.refunded_total += amount
    order.save(update_fields=["refunded_total", "updated_at"])
    refunded = OrderRefunded.build(order=order, refund=refund)
    publish(topic=USER_TOPIC.name(order.buyer_id), event=refunded)
    publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=refunded)
    notify(recipients=[order.buyer_id], kind=PAYMENT_REFUNDED.name,
           title=f"Refund for order {order.number}",
           body=f"{amount:.2f} {payment.currency} of order {order.number} was refunded"
                + (f": {reason}." if reason else "."),
           data={"order_id": str(order.id), "amount": f"{amount:.2f}", "currency": payment.currency}, target=order)
    if set_status and full:
        order_apply_transition(order=order, to_status=OrderStatus.REFUNDED, actor=actor, reason=reason or "refunded")
    refund_created.send(sender=Refund, refund=refund, order=order, shipping_amount=shipping_part, lines=list(lines or []))
    return refund


def _take_back(*, order: Order, payment: Payment, amount: Decimal, ledger_kind: str = LedgerKind.REFUND) -> None:
    """Where a refund's money comes from: out of the escrow before release; after it, out of the
    store owner's wallet as a ``ledger_kind`` entry (with the commission's share given back to
    the store)."""
    escrow = Escrow.objects.select_for_update().filter(order=order).first()
    if escrow is not None and escrow.status == EscrowStatus.RELEASED:
        share = commission_for(amount) if escrow.commission > 0 else Decimal("0.00")
        owner = order.vendor.owner_id
        if share > 0:
            wallets.wallet_credit(user=owner, amount=share, currency=payment.currency, kind=LedgerKind.COMMISSION,
                                  reference=f"order:{order.id}", memo=f"Commission returned, order {order.number}")
        wallets.wallet_debit(user=owner, amount=amount, currency=payment.currency, kind=ledger_kind,
                             reference=f"order:{order.id}", memo=f"Refund of order {order.number}")
    elif escrow is not None:
        escrow.amount -= amount
        if escrow.amount == 0:
            escrow.status = EscrowStatus.REFUNDED
        escrow.save(update_fields=["amount", "status"])
        publish_escrow(order=order, escrow=escrow, reason="refunded", dispute_id=open_dispute_id(order_id=order.pk))


def refund_create(*, user, order_id: Any, amount: Any = None, include_shipping: bool = False,
                  reason: str = "") -> Refund:
    """Vendor staff of the order's store or an admin refunds ``amount`` of goods (default:
    everything left, the shipping fee included); ``include_shipping`` adds the shipping fee not
    refunded yet to it (``amount`` may then be ``0.00``: the fee alone). Raises ``NotFound`` ``order_not_found`` (may not see it), ``Forbidden``
    ``refund_not_allowed`` (the buyer), ``ApplicationError`` ``invalid_amount`` and the
    ``Conflict`` codes of :func:`refund_locked`."""
    oid = parse_uuid(order_id)
    if oid is None:
        raise NotFound("Order not found.", code="order_not_found")
    if amount is not None:
        amount = wallets.validate_amount(amount, allow_zero=include_shipping)
    with transaction.atomic():
        order = _lock_checkout_then_order(oid)
        if not can_view_order(user, order):
            raise NotFound("Order not found.", code="order_not_found")
        if not can_refund_order(user, order):
            raise Forbidden("Only the store or an admin can refund an order.", code="refund_not_allowed")
        left = refundable_amounts(order=order)
        if amount is None:
            if left["total"] <= 0:
                raise Conflict("Nothing left to refund.", code="refund_exceeds_payment", extra={"refundable": "0.00"})
            return refund_locked(order=order, amount=left["total"], actor=user, reason=reason)
        if include_shipping:
            if amount + left["shipping"] <= 0:
                raise Conflict("Nothing left to refund.", code="refund_exceeds_payment",
                               extra={"refundable": f"{left['total']:.2f}"})
            return refund_locked(order=order, amount=amount + left["shipping"], shipping_amount=left["shipping"],
                                 actor=user, reason=reason)
        if amount > left["goods"] and amount != left["total"]:
            raise Conflict(f"At most {left['goods']:.2f} {order.currency} of goods can be refunded; the shipping fee "
                           "comes back with include_shipping or a full refund.", code="refund_exceeds_payment",
                           extra={"refundable": f"{left['total']:.2f}", "refundable_goods": f"{left['goods']:.2f}",
                                  "refundable_shipping": f"{left['shipping']:.2f}"})
        return refund_locked(order=order, amount=amount, shipping_amount=Decimal("0.00") if amount != left["total"]
                             else None, actor=user, reason=reason)



# --- orders from other sources (auctions) ---------------------------------------------------


def order_create_for_auction(
    *,
    buyer,
    vendor,
    title: str,
    sku: str,
    amount: Decimal,
    currency: str,
    product=None,
    hold_reference: str | None = None,
    shipping_address: dict[str, Any] | None = None,
) -> Order:
    """Create the order of a won auction (or a buy-it-now) for ``buyer`` at ``amount``
    (``Decimal``, ``currency``) from ``vendor``: one line (``title``, ``sku``, quantity 1,
    optional ``product``), address snapshot from ``shipping_address`` or the buyer's default
    shipping address.

    With ``hold_reference`` (the winner's wallet hold, e.g. ``"auction:<id>"``) the order is paid
    at once from the held funds (``wallet_hold`` payment, the rest of the hold released), escrow
    held, and the order is ``paid``. Without it, it stays ``pending_payment`` for the buyer to
    pay (no stock reservation expiry). Call inside the caller's transaction, after locking the
    auction. Raises ``Conflict`` ``no_active_hold`` / ``insufficient_funds`` from the wallet.

    Tax: the winning price is what the buyer pays (a consumer price, tax included), taxed at
    the product's class (standard without a product) and the shipping address's country. An
    auction order has no shipping method and no fee (the listing's price is the deal).
    """
    amount = wallets.validate_amount(amount)
    if shipping_address is None:
        addr = Address.objects.filter(user=buyer, is_default_shipping=True).first()
        shipping_address = address_snapshot(addr) if addr else {}
    country = str(shipping_address.get("country") or "")
    tax_class = product.tax_class if product is not None else TaxClass.STANDARD
    taxed = tax_line(amount, rates_for_country(country=country, on=timezone.now().date())[tax_class], includes_tax=True)
    with transaction.atomic():
        oid = uuid.uuid4()
        order = Order.objects.create(
            id=oid, number=order_number(oid), buyer=buyer, vendor=vendor, source=OrderSource.AUCTION,
            currency=currency, subtotal=amount, total=amount, tax_total=taxed.tax, tax_country=country,
            shipping_address=shipping_address, billing_address=shipping_address,
        )
        OrderLine.objects.create(order=order, product=product, product_name=title[:200], sku=sku[:64],
                                 vendor_name=vendor.name, unit_price=amount, quantity=1, line_total=amount,
                                 tax_class=tax_class, tax_rate=taxed.rate, net_total=taxed.net, tax_amount=taxed.tax,
                                 gross_total=taxed.gross)
        OrderStatusChange.objects.create(order=order, from_status="", to_status=OrderStatus.PENDING_PAYMENT,
                                         reason=OrderSource.AUCTION)
        order_placed(order=order)
        order = lock_order(order.pk)
        if hold_reference:
            wallets.wallet_capture_hold(user=buyer, currency=currency, reference=hold_reference, amount=amount,
                                        payment_reference=f"order:{order.id}")
            payment = Payment.objects.create(order=order, method=PaymentMethod.WALLET_HOLD, amount=amount,
                                             currency=currency)
            _mark_paid(order=order, payment=payment)
        return order
