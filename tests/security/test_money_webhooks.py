"""Issue 13, table row 3: a webhook signed with the (default) secret marked a pending payment and
a pending deposit succeeded: the handler never asked the gateway whether the intent really
succeeded. Now the gateway is asked (``retrieve_intent``) and only its state, when it matches our
record, is applied. (That production refuses the default secret is the safety half of the issue.)"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.conf import settings

from commerce.payments import services as payments
from commerce.payments.gateways import SIGNATURE_HEADER, sign
from commerce.payments.models import PaymentWebhookEvent, WalletDeposit
from commerce.wallet.models import Escrow, Wallet
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory
from tests.factories.orders import buyer_with_cart, checkout_for

pytestmark = pytest.mark.django_db


def forged(intent_id: str, event_type: str = "payment_intent.succeeded") -> tuple[bytes, dict]:
    """A webhook an attacker who knows the secret writes: correct signature, made-up outcome;
    the gateway itself was never told anything."""
    ts = int(time.time())
    body = json.dumps({"id": f"evt_forged_{uuid.uuid4().hex}", "type": event_type, "created": ts,
                       "data": {"intent_id": intent_id, "failure_code": ""}}).encode()
    return body, {SIGNATURE_HEADER: sign(settings.PAYMENT_WEBHOOK_SECRET, ts, body)}


def post_webhook(body, headers):
    client = client_for(UserFactory())
    client.credentials()
    return client.post("/api/v1/payments/webhooks/test/", body, content_type="application/json",
                       HTTP_GATEWAY_SIGNATURE=headers[SIGNATURE_HEADER])


def test_row3_a_signed_webhook_does_not_pay_an_order_the_gateway_still_calls_pending():
    """Row 3: the forged `succeeded` for a pending card payment changes nothing."""
    buyer = buyer_with_cart({ProductFactory(price="30.00"): 1})


    order = checkout_for(buyer=buyer).orders.get()
    p = payments.payment_create(user=buyer, order_id=order.id, method="card", card_token="tok_pending")
    r = post_webhook(*forged(p.intent_id))
    assert r.status_code == 200 and r.json()["result"] == "intent_pending"
    p.refresh_from_db()
    order.refresh_from_db()
    assert (p.status, order.status) == ("pending", "pending_payment")
    assert not Escrow.objects.filter(order=order).exists()
    assert PaymentWebhookEvent.objects.get().result == "intent_pending"


def test_row3_a_signed_webhook_does_not_credit_a_pending_deposit():
    """Row 3: the forged `succeeded` for a pending wallet deposit credits nothing."""
    user = UserFactory()
    d = payments.deposit_create(user=user, amount="999.00", card_token="tok_pending")
    r = post_webhook(*forged(d.intent_id))
    assert r.status_code == 200 and r.json()["result"] == "intent_pending"
    assert WalletDeposit.objects.get(pk=d.pk).status == "pending"
    assert not Wallet.objects.filter(user=user, balance__gt=0).exists()
