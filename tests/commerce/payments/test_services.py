"""Payments through the test gateway and the wallet, webhooks (signature, replay window,
duplicates), escrow release with commission, refunds before and after release, deposits, and
a payment that arrives after its reservation expired."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from commerce.orders import checkout as checkouts
from commerce.orders.models import Checkout
from commerce.payments import escrow
from commerce.payments import services as payments
from commerce.payments.gateways import GATEWAYS, GatewayError, WebhookSignatureError, sign
from commerce.payments.models import Payment, PaymentWebhookEvent
from commerce.wallet import services as wallets
from commerce.wallet.models import Escrow, LedgerEntry, Wallet
from core.exceptions import Conflict, Forbidden, NotFound
from notifications.models import Notification
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory
from tests.factories.delivery import deliver_paid_order
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet

pytestmark = pytest.mark.django_db
GW = GATEWAYS["test"]


@pytest.fixture
def order():
    product = ProductFactory(vendor=VendorFactory(), category=CategoryFactory(), price="25.00", stock=5)
    buyer = buyer_with_cart({product: 2})
    return checkout_for(buyer=buyer).orders.get()


def _deliver_and_release(order):
    """Deliver with proof (courier + PIN), then let the buyer-protection window pass."""
    deliver_paid_order(order)
    order.refresh_from_db()
    assert order.escrow.status == "held"
    assert escrow.escrows_release_due(now=order.escrow.release_after)["released"] == 1
    order.refresh_from_db()


def test_card_success_pays_holds_escrow_and_completes_the_checkout(order):
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    order.refresh_from_db()
    assert (p.status, p.amount, order.status) == ("succeeded", Decimal("50.00"), "paid")
    assert order.escrow.status == "held" and order.escrow.amount == Decimal("50.00")
    assert Checkout.objects.get(pk=order.checkout_id).status == "completed"
    assert order.reservations.get().status == "consumed"
    assert order.buyer.cart.items.count() == 0  # bought lines leave the cart
    assert Notification.objects.filter(recipient=order.buyer, kind="payment.succeeded").exists()


def test_declined_card_records_a_failed_attempt_and_the_order_stays_payable(order):
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_decline")
    assert (p.status, p.failure_code) == ("failed", "card_declined")
    order.refresh_from_db()
    assert order.status == "pending_payment"
    p2 = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    assert p2.status == "succeeded"
    with pytest.raises(Conflict) as exc:
        payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    assert exc.value.code == "order_not_payable"
    assert Payment.objects.filter(order=order, status="succeeded").count() == 1


def test_unknown_token_and_someone_elses_order_are_refused(order):
    with pytest.raises(GatewayError) as exc:
        payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_nope")
    assert exc.value.code == "invalid_card_token"
    with pytest.raises(NotFound):
        payments.payment_create(user=order.vendor.owner, order_id=order.id, method="card", card_token="tok_visa")


def test_pending_card_is_settled_by_a_signed_webhook_once(order):
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    assert p.status == "pending"
    with pytest.raises(Conflict) as exc:
        payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    assert exc.value.code == "payment_pending"
    body, headers = GW.build_webhook(intent_id=p.intent_id, succeeded=True)
    assert payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)["result"] == "payment_succeeded"
    assert payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)["result"] == "duplicate"
    order.refresh_from_db()
    assert order.status == "paid" and order.status_changes.filter(to_status="paid").count() == 1
    assert Escrow.objects.filter(order=order).count() == 1 and PaymentWebhookEvent.objects.count() == 1


def test_failed_webhook_marks_the_attempt_failed(order):
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    body, headers = GW.build_webhook(intent_id=p.intent_id, succeeded=False, failure_code="expired_card")
    payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)
    p.refresh_from_db()
    assert (p.status, p.failure_code) == ("failed", "expired_card")
    assert Notification.objects.filter(recipient=order.buyer, kind="payment.failed").exists()


@pytest.mark.parametrize("tamper", ["body", "signature", "old", "missing"])
def test_bad_webhooks_are_refused_and_change_nothing(order, tamper):
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    body, headers = GW.build_webhook(intent_id=p.intent_id, succeeded=True)
    if tamper == "body":
        body = body.replace(b"succeeded", b"payment_failed")
    elif tamper == "signature":
        headers = {"Gateway-Signature": headers["Gateway-Signature"][:-4] + "0000"}
    elif tamper == "old":
        ts = int(time.time()) - 301
        headers = {"Gateway-Signature": sign("whsec_dev_only_change_me", ts, body)}
    else:
        headers = {}
    with pytest.raises(WebhookSignatureError) as exc:
        payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)
    assert exc.value.status == 400
    p.refresh_from_db()
    assert p.status == "pending" and not PaymentWebhookEvent.objects.exists()


def test_wallet_payment_debits_the_buyer_and_the_release_pays_the_store_less_commission(order):
    funded_wallet(order.buyer, "80.00")
    payments.payment_create(user=order.buyer, order_id=order.id, method="wallet")
    assert Wallet.objects.get(user=order.buyer).balance == Decimal("30.00")
    _deliver_and_release(order)
    vendor_wallet = Wallet.objects.get(user=order.vendor.owner)
    assert vendor_wallet.balance == Decimal("45.00")  # 50.00 payout - 5.00 commission (10 %)
    kinds = list(LedgerEntry.objects.filter(wallet=vendor_wallet).order_by("id").values_list("kind", "amount"))
    assert kinds == [("payout", Decimal("50.00")), ("commission", Decimal("-5.00"))]
    escrow = Escrow.objects.get(order=order)
    assert (escrow.status, escrow.commission) == ("released", Decimal("5.00"))
    for w in Wallet.objects.all():
        assert wallets.wallet_check_ledger(wallet=w).ok


def test_wallet_payment_without_funds_changes_nothing(order):
    funded_wallet(order.buyer, "49.99")
    with pytest.raises(Conflict) as exc:
        payments.payment_create(user=order.buyer, order_id=order.id, method="wallet")
    assert exc.value.code == "insufficient_funds"
    order.refresh_from_db()
    assert order.status == "pending_payment" and not Payment.objects.exists()


def test_partial_then_full_refund_before_release(order):
    funded_wallet(order.buyer, "50.00")
    payments.payment_create(user=order.buyer, order_id=order.id, method="wallet")
    owner = order.vendor.owner
    payments.refund_create(user=owner, order_id=order.id, amount="10.00", reason="scratched")
    order.refresh_from_db()
    assert (order.status, order.refunded_total, order.escrow.amount) == ("paid", Decimal("10.00"), Decimal("40.00"))
    assert Wallet.objects.get(user=order.buyer).balance == Decimal("10.00")
    with pytest.raises(Conflict) as exc:
        payments.refund_create(user=owner, order_id=order.id, amount="40.01")
    assert exc.value.code == "refund_exceeds_payment"
    payments.refund_create(user=owner, order_id=order.id)
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("refunded", Decimal("50.00"))
    assert Escrow.objects.get(order=order).status == "refunded"
    assert Notification.objects.filter(recipient=order.buyer, kind="payment.refunded").count() == 2


def test_refund_after_release_comes_from_the_vendor_wallet(order):
    payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    _deliver_and_release(order)
    payments.refund_create(user=order.vendor.owner, order_id=order.id, amount="20.00")
    vendor_wallet = Wallet.objects.get(user=order.vendor.owner)
    assert vendor_wallet.balance == Decimal("27.00")  # 45.00 + 2.00 commission back - 20.00
    assert wallets.wallet_check_ledger(wallet=vendor_wallet).ok


def test_only_the_store_or_an_admin_refunds(order):
    payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    with pytest.raises(Forbidden) as exc:
        payments.refund_create(user=order.buyer, order_id=order.id)
    assert exc.value.code == "refund_not_allowed"
    with pytest.raises(NotFound):
        payments.refund_create(user=VendorFactory().owner, order_id=order.id)


def test_payment_arriving_after_expiry_is_refunded_not_applied(order):
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    checkout = Checkout.objects.get(pk=order.checkout_id)
    assert checkouts.checkout_expire(checkout_id=checkout.id, now=checkout.expires_at + timedelta(seconds=1))
    body, headers = GW.build_webhook(intent_id=p.intent_id, succeeded=True)
    assert payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)["result"] == "refunded_late_payment"
    order.refresh_from_db()
    p.refresh_from_db()
    assert order.status == "cancelled" and p.refunded_amount == p.amount


def test_deposits_credit_once_immediately_or_by_webhook():
    from tests.factories.core import UserFactory

    user = UserFactory()
    d = payments.deposit_create(user=user, amount="25.00", card_token="tok_visa")
    assert d.status == "succeeded" and Wallet.objects.get(user=user).balance == Decimal("25.00")
    d2 = payments.deposit_create(user=user, amount="5.00", card_token="tok_pending")
    assert d2.status == "pending" and Wallet.objects.get(user=user).balance == Decimal("25.00")
    body, headers = GW.build_webhook(intent_id=d2.intent_id, succeeded=True)
    payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)
    payments.payments_handle_webhook(gateway_name="test", body=body, headers=headers)
    assert Wallet.objects.get(user=user).balance == Decimal("30.00")
    d3 = payments.deposit_create(user=user, amount="5.00", card_token="tok_decline")
    assert d3.status == "failed" and Wallet.objects.get(user=user).balance == Decimal("30.00")


@override_settings(MARKETPLACE_COMMISSION_RATE="0.125")
def test_commission_rate_is_a_setting_rounded_half_up():
    assert escrow.commission_for(Decimal("10.02")) == Decimal("1.25")
    assert escrow.commission_for(Decimal("10.04")) == Decimal("1.26")
