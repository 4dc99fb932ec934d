"""The gateway's word, not the webhook's: verification against ``retrieve_intent`` with the test
gateway and with small test-only gateways that disagree with their own payloads; a charge in
three steps (recorded first, the gateway called with no lock, settled after) and reconciliation
of every way it can go wrong; ``Idempotency-Key`` in its non-atomic mode for payments."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from commerce.orders.models import Order
from commerce.payments import services as payments
from commerce.payments.gateways import GATEWAYS, SIGNATURE_HEADER, Intent, TestGateway, sign
from commerce.payments.models import Payment, PaymentWebhookEvent, WalletDeposit
from commerce.wallet.models import Wallet
from core.exceptions import ApplicationError, Conflict
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory
from tests.factories.orders import buyer_with_cart, checkout_for

GW = GATEWAYS["test"]


def new_order(price="30.00"):
    buyer = buyer_with_cart({ProductFactory(price=price, stock=5): 1})
    return checkout_for(buyer=buyer).orders.get()


def webhook(intent_id: str, type_: str = "payment_intent.succeeded") -> tuple[bytes, dict]:
    ts = int(time.time())
    body = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": type_, "created": ts,
                       "data": {"intent_id": intent_id}}).encode()
    return body, {SIGNATURE_HEADER: sign(settings.PAYMENT_WEBHOOK_SECRET, ts, body)}


def deliver_webhook(gateway: str, body, headers):
    return payments.payments_handle_webhook(gateway_name=gateway, body=body, headers=headers)


class AmountLiar(TestGateway):
    """A provider whose intents come back with another amount than we charged (a bug, or an
    intent id reused from another payment): its webhooks must change nothing."""

    name = "amount-liar"

    def retrieve_intent(self, *, intent_id):
        real = super().retrieve_intent(intent_id=intent_id)
        return Intent(id=real.id, status="succeeded", amount=real.amount + Decimal("0.01"), currency=real.currency)


class StatusLiar(TestGateway):
    """A provider whose webhook payloads say `succeeded` while the provider itself says the
    intent failed."""

    name = "status-liar"

    def retrieve_intent(self, *, intent_id):
        real = super().retrieve_intent(intent_id=intent_id)
        return Intent(id=real.id, status="failed", amount=real.amount, currency=real.currency,
                      failure_code="card_declined")


@pytest.fixture
def liars(monkeypatch):
    for gw in (AmountLiar(), StatusLiar()):
        monkeypatch.setitem(GATEWAYS, gw.name, gw)


@pytest.mark.django_db
@pytest.mark.parametrize("gateway, result", [("amount-liar", "intent_mismatch"), ("status-liar", "status_mismatch")])
def test_a_gateway_disagreeing_with_its_payload_changes_nothing(liars, gateway, result):
    """Works through the interface, whatever the gateway: what `retrieve_intent` says decides."""
    with override_settings(PAYMENT_GATEWAY=gateway):
        order = new_order()
        p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
        d = payments.deposit_create(user=order.buyer, amount="12.00", card_token="tok_pending")
    GATEWAYS[gateway].set_status(intent_id=p.intent_id, status="succeeded")
    GATEWAYS[gateway].set_status(intent_id=d.intent_id, status="succeeded")
    assert deliver_webhook(gateway, *webhook(p.intent_id))["result"] == result
    assert deliver_webhook(gateway, *webhook(d.intent_id))["result"] == result
    assert Payment.objects.get(pk=p.pk).status == "pending" and Order.objects.get(pk=order.pk).status == "pending_payment"
    assert WalletDeposit.objects.get(pk=d.pk).status == "pending"
    assert not Wallet.objects.filter(user=order.buyer, balance__gt=0).exists()
    assert set(PaymentWebhookEvent.objects.values_list("result", flat=True)) == {result}


@pytest.mark.django_db
def test_the_test_gateway_settles_only_what_it_really_settled():
    order = new_order()
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    assert deliver_webhook("test", *webhook(p.intent_id))["result"] == "intent_pending"  # not settled yet
    assert deliver_webhook("test", *webhook("pi_test_unknown"))["result"] == "unknown_intent"
    failed_event = webhook(p.intent_id, "payment_intent.payment_failed")
    GW.set_status(intent_id=p.intent_id, status="succeeded")
    assert deliver_webhook("test", *failed_event)["result"] == "status_mismatch"  # the gateway says succeeded
    assert deliver_webhook("test", *webhook(p.intent_id, "charge.dispute.created"))["result"] == "ignored"
    body, headers = webhook(p.intent_id)
    assert deliver_webhook("test", body, headers)["result"] == "payment_succeeded"
    assert deliver_webhook("test", body, headers)["result"] == "duplicate"
    assert Order.objects.get(pk=order.pk).status == "paid"


@pytest.mark.django_db
def test_an_unreachable_gateway_during_verification_records_nothing_so_the_retry_applies(monkeypatch):
    order = new_order()
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    GW.set_status(intent_id=p.intent_id, status="succeeded")
    body, headers = webhook(p.intent_id)

    def down(**kwargs):
        raise ConnectionError("gateway down")

    monkeypatch.setattr(GW, "retrieve_intent", down)
    with pytest.raises(ConnectionError):
        deliver_webhook("test", body, headers)
    assert not PaymentWebhookEvent.objects.exists()
    monkeypatch.undo()
    assert deliver_webhook("test", body, headers)["result"] == "payment_succeeded"


@pytest.mark.django_db
def test_reconciliation_settles_a_payment_whose_webhook_never_came():
    order = new_order()
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_pending")
    GW.set_status(intent_id=p.intent_id, status="succeeded")
    assert payments.payments_reconcile()["settled"] == 0  # too young: the webhook may still come
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS + 1)
    assert payments.payments_reconcile(now=later) == {"reversed": 0, "settled": 1, "pending": 0, "abandoned": 0,
                                                       "errors": 0}
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert payments.payments_reconcile(now=later)["settled"] == 0


class LostAnswer(TestGateway):
    """Charges, then the answer is lost on the way back (a timeout after the provider acted)."""

    name = "lost-answer"

    def create_intent(self, **kwargs):
        super().create_intent(**kwargs)
        raise TimeoutError("read timed out")


class NeverReached(TestGateway):
    """The request never reaches the provider."""

    name = "never-reached"

    def create_intent(self, **kwargs):
        raise ConnectionError("connection refused")


@pytest.mark.django_db
def test_a_lost_gateway_answer_leaves_a_pending_attempt_that_reconciliation_finds(monkeypatch):
    monkeypatch.setitem(GATEWAYS, "lost-answer", LostAnswer())
    with override_settings(PAYMENT_GATEWAY="lost-answer"):
        order = new_order()
        with pytest.raises(ApplicationError) as exc:
            payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
        assert (exc.value.code, exc.value.status) == ("gateway_unavailable", 503)
        p = Payment.objects.get(order=order)
        assert (p.status, p.intent_id, p.failure_code) == ("pending", "", "gateway_unreachable")
        with pytest.raises(Conflict) as again:  # no second charge while the first is unknown
            payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
        assert again.value.code == "payment_pending"
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS + 1)
    assert payments.payments_reconcile(now=later)["settled"] == 1
    p.refresh_from_db()
    assert p.status == "succeeded" and p.intent_id.startswith("pi_test_")
    assert Order.objects.get(pk=order.pk).status == "paid"


@pytest.mark.django_db
def test_an_attempt_that_never_reached_the_gateway_is_abandoned_and_the_order_payable_again(monkeypatch):
    monkeypatch.setitem(GATEWAYS, "never-reached", NeverReached())
    with override_settings(PAYMENT_GATEWAY="never-reached"):
        order = new_order()
        with pytest.raises(ApplicationError):
            payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    p = Payment.objects.get(order=order)
    soon = timezone.now() + timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS + 1)
    assert payments.payments_reconcile(now=soon)["pending"] == 1  # not abandoned yet
    Order.objects.filter(pk=order.pk).update(reservation_expires_at=None)  # keep it payable for the hour
    late = timezone.now() + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS + 1)
    assert payments.payments_reconcile(now=late)["abandoned"] == 1
    p.refresh_from_db()
    assert (p.status, p.failure_code) == ("failed", "gateway_no_intent")
    assert payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa").status == "succeeded"


@pytest.mark.django_db
def test_a_refusal_records_the_failed_attempt():
    order = new_order()
    with pytest.raises(ApplicationError) as exc:
        payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_nope")
    assert exc.value.code == "invalid_card_token"
    assert list(Payment.objects.filter(order=order).values_list("status", "failure_code")) == [
        ("failed", "invalid_card_token")]


@pytest.mark.django_db
def test_a_reversal_the_gateway_refuses_is_retried_by_the_sweep(monkeypatch):
    order = new_order()
    p = payments.payment_create(user=order.buyer, order_id=order.id, method="card", card_token="tok_visa")
    Payment.objects.filter(pk=p.pk).update(status="needs_refund", failure_code="settle_failed")
    Order.objects.filter(pk=order.pk).update(status="pending_payment")  # as if the settling never happened

    def refuse(**kwargs):
        raise ConnectionError("gateway down")

    monkeypatch.setattr(GW, "refund", refuse)
    assert payments.payments_reconcile()["errors"] == 1
    assert Payment.objects.get(pk=p.pk).reconcile_attempts == 1
    monkeypatch.undo()
    assert payments.payments_reconcile()["reversed"] == 1
    assert Payment.objects.get(pk=p.pk).status == "reversed"


# --- Idempotency-Key, non-atomic mode --------------------------------------------------------


class Counting(TestGateway):
    def __init__(self):
        self.charges = 0
        self.lock = threading.Lock()

    def create_intent(self, **kwargs):
        with self.lock:
            self.charges += 1
        return super().create_intent(**kwargs)


@pytest.mark.django_db
def test_rest_replays_a_card_payment_and_reports_an_unreachable_gateway(monkeypatch):
    counting = Counting()
    monkeypatch.setitem(GATEWAYS, "test", counting)
    order = new_order()
    client = client_for(order.buyer)
    k = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    url = f"/api/v1/orders/{order.id}/payments/"
    first = client.post(url, {"method": "card", "card_token": "tok_visa"}, format="json", **k)
    second = client.post(url, {"method": "card", "card_token": "tok_visa"}, format="json", **k)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true" and counting.charges == 1
    other = client.post(url, {"method": "card", "card_token": "tok_mastercard"}, format="json", **k)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"

    refused_order = new_order()
    k3 = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    refused_url = f"/api/v1/orders/{refused_order.id}/payments/"
    buyer3 = client_for(refused_order.buyer)
    refused = buyer3.post(refused_url, {"method": "card", "card_token": "tok_nope"}, format="json", **k3)
    replayed = buyer3.post(refused_url, {"method": "card", "card_token": "tok_nope"}, format="json", **k3)
    assert refused.status_code == replayed.status_code == 400 and refused.json() == replayed.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert list(Payment.objects.filter(order=refused_order).values_list("status", flat=True)) == ["failed"]  # kept

    monkeypatch.setitem(GATEWAYS, "test", NeverReached())
    fresh = new_order()
    k2 = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    down = client_for(fresh.buyer).post(f"/api/v1/orders/{fresh.id}/payments/", {"method": "card", "card_token": "tok_visa"},
                                        format="json", **k2)
    assert down.status_code == 503 and down.json()["code"] == "gateway_unavailable" and down.json()["detail"]
    retry = client_for(fresh.buyer).post(f"/api/v1/orders/{fresh.id}/payments/",
                                         {"method": "card", "card_token": "tok_visa"}, format="json", **k2)
    assert retry.status_code == 409 and retry.json()["code"] == "payment_pending"  # ran again, met the attempt


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_card_payments_with_one_key_charge_once(monkeypatch):
    counting = Counting()
    monkeypatch.setitem(GATEWAYS, "test", counting)
    order = new_order()
    k = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    barrier, out, lock = threading.Barrier(10), [], threading.Lock()

    def pay():
        client = client_for(order.buyer)
        barrier.wait()
        try:
            r = client.post(f"/api/v1/orders/{order.id}/payments/", {"method": "card", "card_token": "tok_visa"},
                            format="json", **k)
            with lock:
                out.append((r.status_code, r.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 10 and {s for s, _ in out} == {201} and len({i for _, i in out}) == 1
    assert counting.charges == 1 and Payment.objects.filter(order=order).count() == 1
