"""Payments, refunds, escrow and wallet deposits.

* :func:`payment_create` — the buyer pays a ``pending_payment`` order by card (through the
  configured gateway, ``commerce.gateways``) or from their wallet. At most one succeeded payment
  per order (database constraint, re-checked under the order lock).
* :func:`payments_handle_webhook` — verified, de-duplicated gateway events settle pending card
  payments and deposits. A replayed or duplicated event changes nothing the second time.
* Escrow: a succeeded payment is held by the marketplace (:class:`~commerce.models.Escrow`) until
  the order is delivered; :func:`escrow_release` then pays the vendor owner's wallet
  (``payout``) less ``MARKETPLACE_COMMISSION_RATE`` (``commission``).
* :func:`refund_create` — vendor staff or an admin give money back, full or partial; a full
  refund moves the order to ``refunded``. Before release the money comes out of escrow; after it,
  out of the vendor's wallet (the commission share is given back to the vendor).
* :func:`deposit_create` — top up a wallet by card.

Events (after commit): the order moves publish ``order.status_changed`` / ``order.created``
(``commerce.orders``); wallets publish ``wallet.updated``; the buyer is notified
``payment.succeeded`` / ``payment.failed`` / ``payment.refunded`` (critical kinds).

Gateway calls happen inside the transaction that holds the order lock (the test gateway is
local). A network provider would keep that, as Stripe recommends, only with its idempotency key
set from ours (we pass ``payment:<id>``), so a retry after a crash cannot charge twice.
"""

from __future__ import annotations

import logging
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import is_staff_or_admin
from core.utils import parse_uuid
from notifications.kinds import PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_SUCCEEDED
from notifications.services import notify

from commerce import wallet as wallets
from commerce.gateways import GatewayError, get_gateway
from commerce.models import (
    Checkout,
    CheckoutStatus,
    Escrow,
    EscrowStatus,
    LedgerKind,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PaymentWebhookEvent,
    Refund,
    ReservationStatus,
    StockReservation,
    WalletDeposit,
)
from commerce.orders import _is_vendor_staff, lock_order, order_apply_transition, order_visible_to
from commerce.selectors import CENT

logger = logging.getLogger(__name__)


def payment_data(payment: Payment) -> dict[str, Any]:
    """``{"id", "order_id", "method", "gateway", "status", "amount", "currency", "failure_code",
    "refunded_amount", "created_at", "succeeded_at"}`` (money as strings)."""
    return {
        "id": str(payment.id),
        "order_id": str(payment.order_id),
        "method": payment.method,
        "gateway": payment.gateway,
        "status": payment.status,
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
        "failure_code": payment.failure_code,
        "refunded_amount": f"{payment.refunded_amount:.2f}",
        "created_at": payment.created_at,
        "succeeded_at": payment.succeeded_at,
    }


def _lock_checkout_then_order(order_id: uuid.UUID) -> Order:
    """Lock the order's checkout (if any) then the order: the project's lock order."""
    checkout_id = Order.objects.filter(pk=order_id).values_list("checkout_id", flat=True).first()
    if checkout_id:
        Checkout.objects.select_for_update().filter(pk=checkout_id).first()
    return lock_order(order_id)


def _mark_paid(*, order: Order, payment: Payment) -> None:
    """A locked pending order whose ``payment`` just succeeded: payment row, reservations
    consumed (the sale), escrow held, order ``paid``, checkout completed when all its orders are
    settled, the products leave the buyer's cart, buyer notified."""
    from commerce.services import cart_remove_products

    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.save(update_fields=["status", "succeeded_at", "updated_at"])
    StockReservation.objects.filter(order=order, status=ReservationStatus.ACTIVE).update(status=ReservationStatus.CONSUMED)
    Escrow.objects.create(order=order, amount=payment.amount, currency=payment.currency)
    order_apply_transition(order=order, to_status=OrderStatus.PAID, reason="payment_succeeded")
    if order.checkout_id:
        pending = Order.objects.filter(checkout_id=order.checkout_id, status=OrderStatus.PENDING_PAYMENT).exists()
        if not pending:
            Checkout.objects.filter(pk=order.checkout_id, status=CheckoutStatus.ACTIVE).update(
                status=CheckoutStatus.COMPLETED, updated_at=timezone.now()
            )
        product_ids = [pid for pid in order.lines.values_list("product_id", flat=True) if pid]
        if product_ids:
            cart_remove_products(user=order.buyer, product_ids=product_ids)
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
    webhook) or ``failed`` (declined; the order stays payable and a new attempt may follow).

    Raises ``NotFound`` ``order_not_found`` (not the buyer's), ``Conflict`` ``order_not_payable``
    (not ``pending_payment``: paid, cancelled, expired), ``payment_pending`` (another attempt is
    still pending), ``insufficient_funds`` (wallet), ``GatewayError`` ``invalid_card_token``,
    ``ApplicationError`` ``invalid_method``.
    """
    if method not in (PaymentMethod.CARD, PaymentMethod.WALLET):
        raise ApplicationError("method must be card or wallet.", code="invalid_method",
                               fields={"method": ["card or wallet"]})
    oid = parse_uuid(order_id)
    if oid is None:
        raise NotFound("Order not found.", code="order_not_found")
    with transaction.atomic():
        order = _lock_checkout_then_order(oid)
        if order.buyer_id != getattr(user, "pk", None):
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
                                         gateway=get_gateway().name if method == PaymentMethod.CARD else "")
        if method == PaymentMethod.WALLET:
            wallets.wallet_debit(user=user, amount=order.total, currency=order.currency, kind=LedgerKind.PAYMENT,
                                 reference=f"order:{order.id}", memo=f"Order {order.number}")
            _mark_paid(order=order, payment=payment)
            return payment
        if not card_token:
            raise ApplicationError("card_token is required for a card payment.", code="invalid",
                                   fields={"card_token": ["This field is required."]})
        gateway = get_gateway()
        intent = gateway.create_intent(amount=order.total, currency=order.currency, token=card_token,
                                       reference=f"order:{order.id}",
                                       idempotency_key=f"payment:{payment.id}")
        payment.intent_id = intent.id
        payment.save(update_fields=["intent_id", "updated_at"])
        if intent.status == "succeeded":
            _mark_paid(order=order, payment=payment)
        elif intent.status == "failed":
            _mark_failed(order=order, payment=payment, failure_code=intent.failure_code)
        return payment


def _settle_payment(*, payment_id: uuid.UUID, succeeded: bool, failure_code: str) -> str:
    """Apply a gateway outcome to a pending card payment (locks checkout, order, payment)."""
    order_id = Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get()
    order = _lock_checkout_then_order(order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != PaymentStatus.PENDING:
        return "already_settled"
    if not succeeded:
        _mark_failed(order=order, payment=payment, failure_code=failure_code)
        return "payment_failed"
    if order.status == OrderStatus.PENDING_PAYMENT:
        _mark_paid(order=order, payment=payment)
        return "payment_succeeded"
    # The money arrived after the order was cancelled (reservation expired): give it back.
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.save(update_fields=["status", "succeeded_at", "updated_at"])
    gw = get_gateway(payment.gateway)
    ref = gw.refund(intent_id=payment.intent_id, amount=payment.amount, idempotency_key=f"late:{payment.id}")
    Refund.objects.create(payment=payment, amount=payment.amount, reason="order_not_payable", gateway_refund_id=ref.id)
    payment.refunded_amount = payment.amount
    payment.save(update_fields=["refunded_amount", "updated_at"])
    notify(recipients=[order.buyer_id], kind=PAYMENT_REFUNDED.name,
           title=f"Payment for order {order.number} refunded",
           body=f"Order {order.number} was {order.status} when your payment arrived; {payment.amount:.2f} "
                f"{payment.currency} is on its way back.",
           data={"order_id": str(order.id), "payment_id": str(payment.id)}, target=order)
    return "refunded_late_payment"


def _settle_deposit(*, deposit_id: uuid.UUID, succeeded: bool, failure_code: str) -> str:
    deposit = WalletDeposit.objects.select_for_update().get(pk=deposit_id)
    if deposit.status != PaymentStatus.PENDING:
        return "already_settled"
    if succeeded:
        deposit.status = PaymentStatus.SUCCEEDED
        wallets.wallet_credit(user=deposit.user_id, amount=deposit.amount, currency=deposit.currency,
                              kind=LedgerKind.DEPOSIT, reference=f"deposit:{deposit.id}")
    else:
        deposit.status = PaymentStatus.FAILED
        deposit.failure_code = failure_code[:64] or "payment_failed"
    deposit.save(update_fields=["status", "failure_code", "updated_at"])
    return "deposit_" + deposit.status


def payments_handle_webhook(*, gateway_name: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Verify and apply one webhook delivery of ``gateway_name``. Returns ``{"event_id",
    "result"}``; ``result`` is ``duplicate`` when the event was seen before (nothing changes),
    ``ignored`` for types or intents this project does not know.

    Raises ``WebhookSignatureError`` (400 ``invalid_signature`` / ``invalid_webhook``) and
    ``GatewayError`` ``unknown_gateway`` (404) with nothing changed."""
    gateway = get_gateway(gateway_name)
    event = gateway.parse_webhook(body=body, headers=headers)
    with transaction.atomic():
        try:
            with transaction.atomic():
                PaymentWebhookEvent.objects.create(gateway=gateway.name, event_id=event.id, type=event.type,
                                                   payload=event.payload)
        except IntegrityError:
            return {"event_id": event.id, "result": "duplicate"}
        if event.type not in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            return {"event_id": event.id, "result": "ignored"}
        succeeded = event.type == "payment_intent.succeeded"
        payment_id = Payment.objects.filter(gateway=gateway.name, intent_id=event.intent_id).values_list("pk", flat=True).first()
        if payment_id:
            return {"event_id": event.id, "result": _settle_payment(payment_id=payment_id, succeeded=succeeded,
                                                                     failure_code=event.failure_code)}
        deposit_id = WalletDeposit.objects.filter(gateway=gateway.name, intent_id=event.intent_id).values_list("pk", flat=True).first()
        if deposit_id:
            return {"event_id": event.id, "result": _settle_deposit(deposit_id=deposit_id, succeeded=succeeded,
                                                                     failure_code=event.failure_code)}
        return {"event_id": event.id, "result": "ignored"}


# --- escrow --------------------------------------------------------------------------------


def commission_for(amount: Decimal) -> Decimal:
    """The marketplace's share of ``amount``: ``MARKETPLACE_COMMISSION_RATE`` × amount, rounded
    half-up to the cent."""
    rate = Decimal(str(getattr(settings, "MARKETPLACE_COMMISSION_RATE", "0.10")))
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def escrow_release(*, order: Order) -> Escrow | None:
    """Release a locked, delivered order's escrow to its vendor owner's wallet: ``payout`` of the
    held amount and ``commission`` of :func:`commission_for` it. Idempotent (a released escrow is
    left alone). Returns the escrow, or None when the order had none."""
    escrow = Escrow.objects.select_for_update().filter(order=order).first()
    if escrow is None or escrow.status != EscrowStatus.HELD:
        return escrow
    vendor_owner = order.vendor.owner_id
    if escrow.amount > 0:
        commission = commission_for(escrow.amount)
        wallets.wallet_credit(user=vendor_owner, amount=escrow.amount, currency=escrow.currency,
                              kind=LedgerKind.PAYOUT, reference=f"order:{order.id}", memo=f"Order {order.number}")
        if commission > 0:
            wallets.wallet_debit(user=vendor_owner, amount=commission, currency=escrow.currency,
                                 kind=LedgerKind.COMMISSION, reference=f"order:{order.id}",
                                 memo=f"Commission on order {order.number}")
        escrow.commission = commission
    escrow.status = EscrowStatus.RELEASED
    escrow.released_at = timezone.now()
    escrow.save(update_fields=["status", "commission", "released_at"])
    return escrow


# --- refunds -------------------------------------------------------------------------------


def refund_locked(*, order: Order, amount: Decimal, actor=None, reason: str = "", set_status: bool = True) -> Refund:
    """Refund ``amount`` of a locked order's succeeded payment to the buyer (see the module
    docstring for where the money comes from). With ``set_status`` a refund that completes the
    total moves the order to ``refunded``. Raises ``Conflict`` ``not_paid``,
    ``refund_exceeds_payment``, ``insufficient_funds`` (vendor wallet after release),
    ``invalid_transition`` (a full refund while out for delivery)."""
    payment = order.payments.select_for_update().filter(status=PaymentStatus.SUCCEEDED).first()
    if payment is None:
        raise Conflict("This order has no payment to refund.", code="not_paid")
    remaining = payment.amount - payment.refunded_amount
    if amount > remaining:
        raise Conflict(f"At most {remaining:.2f} {payment.currency} can be refunded.", code="refund_exceeds_payment",
                       extra={"refundable": f"{remaining:.2f}"})
    full = amount == remaining
    if set_status and full and not order.can_transition_to(OrderStatus.REFUNDED):
        raise Conflict(f"An order cannot be refunded in full while {order.status}.", code="invalid_transition",
                       extra={"from": order.status, "to": OrderStatus.REFUNDED})
    escrow = Escrow.objects.select_for_update().filter(order=order).first()
    if escrow is not None and escrow.status == EscrowStatus.RELEASED:
        share = commission_for(amount) if escrow.commission > 0 else Decimal("0.00")
        owner = order.vendor.owner_id
        if share > 0:
            wallets.wallet_credit(user=owner, amount=share, currency=payment.currency, kind=LedgerKind.COMMISSION,
                                  reference=f"order:{order.id}", memo=f"Commission returned, order {order.number}")
        wallets.wallet_debit(user=owner, amount=amount, currency=payment.currency, kind=LedgerKind.REFUND,
                             reference=f"order:{order.id}", memo=f"Refund of order {order.number}")
    elif escrow is not None:
        escrow.amount -= amount
        if escrow.amount == 0:
            escrow.status = EscrowStatus.REFUNDED
        escrow.save(update_fields=["amount", "status"])
    refund = Refund(payment=payment, amount=amount, reason=(reason or "")[:200],
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
    notify(recipients=[order.buyer_id], kind=PAYMENT_REFUNDED.name,
           title=f"Refund for order {order.number}",
           body=f"{amount:.2f} {payment.currency} of order {order.number} was refunded"
                + (f": {reason}." if reason else "."),
           data={"order_id": str(order.id), "amount": f"{amount:.2f}", "currency": payment.currency}, target=order)
    if set_status and full:
        order_apply_transition(order=order, to_status=OrderStatus.REFUNDED, actor=actor, reason=reason or "refunded")
    return refund


def refund_create(*, user, order_id: Any, amount: Any = None, reason: str = "") -> Refund:
    """Vendor staff of the order's store or an admin refunds ``amount`` (default: all that is
    left). Raises ``NotFound`` ``order_not_found`` (may not see it), ``Forbidden``
    ``refund_not_allowed`` (the buyer), ``ApplicationError`` ``invalid_amount`` and the
    ``Conflict`` codes of :func:`refund_locked`."""
    oid = parse_uuid(order_id)
    if oid is None:
        raise NotFound("Order not found.", code="order_not_found")
    if amount is not None:
        amount = wallets.validate_amount(amount)
    with transaction.atomic():
        order = _lock_checkout_then_order(oid)
        if not order_visible_to(user=user, order=order):
            raise NotFound("Order not found.", code="order_not_found")
        if not (is_staff_or_admin(user) or _is_vendor_staff(user, order, active_only=False)):
            raise Forbidden("Only the store or an admin can refund an order.", code="refund_not_allowed")
        if amount is None:
            amount = order.total - order.refunded_total
            if amount <= 0:
                raise Conflict("Nothing left to refund.", code="refund_exceeds_payment", extra={"refundable": "0.00"})
        return refund_locked(order=order, amount=amount, actor=user, reason=reason)


# --- wallet deposits -----------------------------------------------------------------------


def deposit_create(*, user, amount: Any, card_token: str, currency: str = "EUR") -> WalletDeposit:
    """Top up ``user``'s wallet with ``amount`` by card. A succeeded charge credits the wallet
    at once (``deposit`` entry), a pending one when its webhook arrives; a declined one is
    recorded ``failed`` and credits nothing. Raises ``invalid_amount``, ``invalid_card_token``."""
    amount = wallets.validate_amount(amount)
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise ApplicationError("currency must be an ISO 4217 code.", code="invalid", fields={"currency": ["ISO 4217"]})
    if not card_token:
        raise ApplicationError("card_token is required.", code="invalid", fields={"card_token": ["This field is required."]})
    gateway = get_gateway()
    with transaction.atomic():
        deposit = WalletDeposit.objects.create(user=user, amount=amount, currency=currency, gateway=gateway.name)
        intent = gateway.create_intent(amount=amount, currency=currency, token=card_token,
                                       reference=f"deposit:{deposit.id}", idempotency_key=f"deposit:{deposit.id}")
        deposit.intent_id = intent.id
        deposit.save(update_fields=["intent_id", "updated_at"])
        if intent.status != "pending":
            _settle_deposit(deposit_id=deposit.id, succeeded=intent.status == "succeeded",
                            failure_code=intent.failure_code)
            deposit.refresh_from_db()
        return deposit


__all__ = [
    "GatewayError", "deposit_create", "escrow_release", "payment_create", "payment_data",
    "payments_handle_webhook", "refund_create", "refund_locked",
]


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
    """
    from core.models import Address

    from commerce.checkout import _address_snapshot, _order_number
    from commerce.models import OrderLine, OrderSource, OrderStatusChange

    amount = wallets.validate_amount(amount)
    if shipping_address is None:
        addr = Address.objects.filter(user=buyer, is_default_shipping=True).first()
        shipping_address = _address_snapshot(addr) if addr else {}
    with transaction.atomic():
        oid = uuid.uuid4()
        order = Order.objects.create(
            id=oid, number=_order_number(oid), buyer=buyer, vendor=vendor, source=OrderSource.AUCTION,
            currency=currency, subtotal=amount, total=amount, shipping_address=shipping_address,
            billing_address=shipping_address,
        )
        OrderLine.objects.create(order=order, product=product, product_name=title[:200], sku=sku[:64],
                                 vendor_name=vendor.name, unit_price=amount, quantity=1, line_total=amount)
        OrderStatusChange.objects.create(order=order, from_status="", to_status=OrderStatus.PENDING_PAYMENT,
                                         reason=OrderSource.AUCTION)
        order = lock_order(order.pk)
        if hold_reference:
            wallets.wallet_capture_hold(user=buyer, currency=currency, reference=hold_reference, amount=amount,
                                        payment_reference=f"order:{order.id}")
            payment = Payment.objects.create(order=order, method=PaymentMethod.WALLET_HOLD, amount=amount,
                                             currency=currency)
            _mark_paid(order=order, payment=payment)
        return order
