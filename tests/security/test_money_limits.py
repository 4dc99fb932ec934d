"""Issue 13, table row 9: a deposit that took a balance past 10^12 answered 500
``NumericValueOutOfRange`` — after the gateway charge was created, so a real card was charged
with nothing recorded. Now the limit is checked before the charge, and any failure after a
charge leaves a record that reconciliation refunds."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError

from commerce.orders.models import Order
from commerce.payments import services as payments
from commerce.payments.gateways import GATEWAYS, TestGateway
from commerce.payments.models import Payment, Refund, WalletDeposit
from commerce.wallet.models import LedgerEntry, Wallet
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet

pytestmark = pytest.mark.django_db


class CountingGateway(TestGateway):
    """The test gateway, counting the charges it is asked to create."""

    def __init__(self):
        self.charges = 0

    def create_intent(self, **kwargs):
        self.charges += 1
        return super().create_intent(**kwargs)


@pytest.fixture
def gateway(monkeypatch):
    gw = CountingGateway()
    monkeypatch.setitem(GATEWAYS, "test", gw)
    return gw


def test_row9_a_deposit_past_the_wallet_limit_is_refused_before_the_card_is_charged(gateway):
    """Row 9: 4xx {code, detail}, no charge at the gateway, no deposit row, balance unchanged."""
    user = UserFactory()
    funded_wallet(user, "1000.00")
    r = client_for(user).post("/api/v1/wallet/deposits/", {"amount": "999999999000.00", "card_token": "tok_visa"},
                              format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["code"] == "wallet_limit_exceeded" and body["detail"] and body["max_credit"] == "999999998999.99"
    assert gateway.charges == 0
    assert not WalletDeposit.objects.exists()
    assert Wallet.objects.get(user=user).balance == Decimal("1000.00")
    ok = client_for(user).post("/api/v1/wallet/deposits/", {"amount": "999999998999.99", "card_token": "tok_visa"},
                               format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert ok.status_code == 201 and ok.json()["wallet"]["balance"] == "999999999999.99"


def test_row9_a_failure_after_the_charge_leaves_a_record_that_reconciles(gateway, monkeypatch):
    """Row 9: the charge succeeds, then settling it fails (a database error): the attempt
    survives as `needs_refund` with the intent, and reconciliation refunds the card once."""
    buyer = buyer_with_cart({ProductFactory(price="25.00"): 1})


    order = checkout_for(buyer=buyer).orders.get()

    def broken(**kwargs):
        raise DatabaseError("connection lost while settling")

    monkeypatch.setattr(payments, "_settle_payment", broken)
    with pytest.raises(DatabaseError):
        payments.payment_create(user=buyer, order_id=order.id, method="card", card_token="tok_visa")
    assert gateway.charges == 1
    p = Payment.objects.get(order=order)
    assert (p.status, p.failure_code) == ("needs_refund", "settle_failed") and p.intent_id
    monkeypatch.undo()
    assert payments.payments_reconcile()["reversed"] == 1
    p.refresh_from_db()
    assert (p.status, p.refunded_amount) == ("reversed", Decimal("25.00"))
    refund = Refund.objects.get(payment=p)
    assert refund.gateway_refund_id.startswith("re_test_")
    assert payments.payments_reconcile()["reversed"] == 0  # once
    assert Order.objects.get(pk=order.pk).status == "pending_payment"  # the buyer may pay again
    assert not LedgerEntry.objects.filter(kind="payment").exists()


class FillingGateway(TestGateway):
    """Charges like the test gateway, and while the card is being charged another deposit of the
    same user lands and fills the wallet (a race a pre-check cannot exclude)."""

    def __init__(self, user):
        self.user = user

    def create_intent(self, **kwargs):
        intent = super().create_intent(**kwargs)
        funded_wallet(self.user, "999999999900.00")
        return intent


def test_row9_a_charge_the_wallet_can_no_longer_hold_is_refunded_not_lost(monkeypatch):
    """Row 9: the balance check passed before the charge, but the wallet filled up meanwhile:
    crediting would overflow. The deposit is recorded and the card refunded (`reversed`),
    instead of a database error after the charge with nothing recorded."""
    user = UserFactory()
    gw = FillingGateway(user)
    monkeypatch.setitem(GATEWAYS, "test", gw)
    d = payments.deposit_create(user=user, amount="200.00", card_token="tok_visa")
    assert (d.status, d.failure_code) == ("reversed", "wallet_limit_exceeded") and d.intent_id
    assert Wallet.objects.get(user=user).balance == Decimal("999999999900.00")
    record = json.loads(gw._redis().get(gw._key("intent", d.intent_id)))
    assert record["refunded"] == "200.00"  # the card got its money back
