"""Payment gateways: a provider-neutral interface and the ``test`` gateway.

:class:`PaymentGateway` is what ``commerce.payments.services`` talks to: create an intent (charge a card
token), retrieve an intent's current state (by id, or by the reference we created it with),
capture, refund, and parse a webhook. A real provider (Stripe, Adyen) is one subclass registered
in :data:`GATEWAYS`; the rest of the code never names a provider.

A webhook is only a hint: ``commerce.payments.services`` never applies what its payload says but asks the
provider (:meth:`PaymentGateway.retrieve_intent`) and applies that, after checking it matches
our record (amount, currency). So every gateway must answer ``retrieve_intent`` from the
provider's own state, never from the webhook it just parsed.

The ``test`` gateway behaves like a real one without a network. Its card tokens:

=====================  ==========================================================
``tok_visa``           succeeds at once (also ``tok_mastercard``, ``tok_success``)
``tok_pending``        stays ``pending`` (3-D Secure, bank transfer...) until a webhook says
                       ``payment_intent.succeeded`` or ``payment_intent.payment_failed``
``tok_decline``        fails with ``card_declined``
``tok_insufficient``   fails with ``insufficient_funds``
anything else          ``GatewayError`` ``invalid_card_token`` (400)
=====================  ==========================================================

Its intents and refunds live in Redis (``testgw:*`` keys, 7 days), so refunding more than was
captured fails as it would at a provider, and :meth:`TestGateway.build_webhook` produces a signed
webhook body for a pending intent (used by the tests and ``bench/escrow_release.py``).

Webhook signatures follow Stripe's scheme: header ``Gateway-Signature: t=<unix seconds>,v1=<hex>``
where ``v1 = HMAC-SHA256(secret, "<t>.<raw body>")``; a timestamp outside
``PAYMENT_WEBHOOK_TOLERANCE_SECONDS`` (default 300) of now is refused (replay window), and the
event id makes a duplicate delivery a no-op (``commerce.payments.models.PaymentWebhookEvent``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from django.conf import settings

from core.exceptions import ApplicationError
from core.redis import sync_client

SIGNATURE_HEADER = "Gateway-Signature"


class GatewayError(ApplicationError):
    """The gateway refused a request (bad token, refund too large...): 400 with ``code``."""


class WebhookSignatureError(ApplicationError):
    """A webhook whose signature, timestamp or body is not acceptable (400 ``invalid_signature``)."""

    code = "invalid_signature"


@dataclass(frozen=True)
class Intent:
    """A payment intent at the gateway: ``status`` is ``succeeded``, ``pending`` or ``failed``
    (then ``failure_code``); ``amount`` Decimal in ``currency``."""

    id: str
    status: str
    amount: Decimal
    currency: str
    failure_code: str = ""


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    intent_id: str
    amount: Decimal


@dataclass(frozen=True)
class WebhookEvent:
    """A parsed, verified webhook: ``id`` (unique per event), ``type``
    (``payment_intent.succeeded`` / ``payment_intent.payment_failed``), ``intent_id``,
    ``failure_code`` and the raw ``payload``."""

    id: str
    type: str
    intent_id: str
    failure_code: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentGateway:
    """The interface every provider implements. Amounts are ``Decimal`` with two places."""

    name: str = ""

    def create_intent(self, *, amount: Decimal, currency: str, token: str, reference: str,
                      idempotency_key: str) -> Intent:  # pragma: no cover - interface
        """Charge ``token`` ``amount``; returns the intent (succeeded, pending or failed).
        Raises :class:`GatewayError` for a request the provider refuses outright."""
        raise NotImplementedError

    def retrieve_intent(self, *, intent_id: str) -> Intent:  # pragma: no cover - interface
        """The intent's current state *at the provider* (Stripe: ``GET /v1/payment_intents/{id}``).
        Raises :class:`GatewayError` ``intent_not_found`` for an id the provider does not know;
        any other exception means the provider could not be asked (retry later)."""
        raise NotImplementedError

    def find_intent(self, *, reference: str) -> Intent | None:  # pragma: no cover - interface
        """The intent created with ``reference`` (``payment:<id>`` / ``deposit:<id>``, sent as
        metadata), or None. Reconciliation uses it for an attempt whose ``create_intent`` answer
        was lost (a timeout), so a charge is never left without our record."""
        raise NotImplementedError

    def capture(self, *, intent_id: str, amount: Decimal) -> Intent:  # pragma: no cover - interface
        """Capture an authorised intent (providers with separate authorisation)."""
        raise NotImplementedError

    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> GatewayRefund:  # pragma: no cover
        """Refund ``amount`` of a succeeded intent. Raises :class:`GatewayError`."""
        raise NotImplementedError

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:  # pragma: no cover
        """Verify and parse a webhook. Raises :class:`WebhookSignatureError`."""
        raise NotImplementedError


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Gateway-Signature`` header value for ``body`` at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(*, secret: str, header: str | None, body: bytes, tolerance: int, now: float | None = None) -> None:
    """Check a ``t=...,v1=...`` signature header (constant-time compare, replay window
    ``tolerance`` seconds). Raises :class:`WebhookSignatureError`."""
    if not header:
        raise WebhookSignatureError("Missing signature header.")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        k, _, v = item.strip().partition("=")
        parts.setdefault(k, []).append(v)
    try:
        ts = int(parts.get("t", [""])[0])
    except ValueError:
        raise WebhookSignatureError("Malformed signature header.") from None
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance:
        raise WebhookSignatureError("Signature timestamp outside the tolerance window.")
    expected = sign(secret, ts, body).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise WebhookSignatureError("Signature does not match.")


class TestGateway(PaymentGateway):
    """The ``test`` gateway (see the module docstring for its card tokens)."""

    __test__ = False  # not a pytest test class
    name = "test"
    SUCCESS_TOKENS = frozenset({"tok_visa", "tok_mastercard", "tok_success"})
    FAILURES = {"tok_decline": "card_declined", "tok_insufficient": "insufficient_funds"}
    TTL = 7 * 24 * 3600

    def _redis(self):
        return sync_client()

    def _key(self, kind: str, ident: str) -> str:
        return f"testgw:{kind}:{ident}"

    def create_intent(self, *, amount: Decimal, currency: str, token: str, reference: str,
                      idempotency_key: str) -> Intent:
        r = self._redis()
        if idempotency_key:
            seen = r.get(self._key("idem", idempotency_key))
            if seen:
                return self._load(seen.decode() if isinstance(seen, bytes) else seen)
        if token in self.SUCCESS_TOKENS:
            status, failure = "succeeded", ""
        elif token == "tok_pending":
            status, failure = "pending", ""
        elif token in self.FAILURES:
            status, failure = "failed", self.FAILURES[token]
        else:
            raise GatewayError("Unknown card token.", code="invalid_card_token",
                               fields={"card_token": ["Use tok_visa, tok_pending, tok_decline or tok_insufficient."]})
        intent_id = "pi_test_" + secrets.token_hex(12)
        record = {"id": intent_id, "status": status, "amount": str(amount), "currency": currency,
                  "failure_code": failure, "refunded": "0.00", "reference": reference}
        pipe = r.pipeline()
        pipe.set(self._key("intent", intent_id), json.dumps(record), ex=self.TTL)
        if idempotency_key:
            pipe.set(self._key("idem", idempotency_key), intent_id, ex=self.TTL)
        if reference:
            pipe.set(self._key("ref", reference), intent_id, ex=self.TTL)
        pipe.execute()
        return self._intent(record)

    def retrieve_intent(self, *, intent_id: str) -> Intent:
        return self._load(intent_id)

    def find_intent(self, *, reference: str) -> Intent | None:
        intent_id = self._redis().get(self._key("ref", reference))
        if intent_id is None:
            return None
        return self._load(intent_id.decode() if isinstance(intent_id, bytes) else intent_id)

    def _load(self, intent_id: str) -> Intent:
        raw = self._redis().get(self._key("intent", intent_id))
        if raw is None:
            raise GatewayError("No such payment intent.", code="intent_not_found")
        return self._intent(json.loads(raw))

    @staticmethod
    def _intent(record: dict[str, Any]) -> Intent:
        return Intent(id=record["id"], status=record["status"], amount=Decimal(record["amount"]),
                      currency=record["currency"], failure_code=record.get("failure_code", ""))

    def capture(self, *, intent_id: str, amount: Decimal) -> Intent:
        intent = self._load(intent_id)
        if intent.status != "succeeded" or amount > intent.amount:
            raise GatewayError("Intent cannot be captured.", code="capture_failed")
        return intent

    def set_status(self, *, intent_id: str, status: str, failure_code: str = "") -> Intent:
        """Settle a pending intent (what the bank does in real life)."""
        r = self._redis()
        raw = r.get(self._key("intent", intent_id))
        if raw is None:
            raise GatewayError("No such payment intent.", code="intent_not_found")
        record = json.loads(raw)
        record.update(status=status, failure_code=failure_code)
        r.set(self._key("intent", intent_id), json.dumps(record), ex=self.TTL)
        return self._intent(record)

    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> GatewayRefund:
        r = self._redis()
        if idempotency_key:
            seen = r.get(self._key("refund-idem", idempotency_key))
            if seen:
                rid, amt = json.loads(seen)
                return GatewayRefund(id=rid, intent_id=intent_id, amount=Decimal(amt))
        raw = r.get(self._key("intent", intent_id))
        if raw is None:
            raise GatewayError("No such payment intent.", code="intent_not_found")
        record = json.loads(raw)
        refunded = Decimal(record["refunded"])
        if record["status"] != "succeeded" or refunded + amount > Decimal(record["amount"]):
            raise GatewayError("Refund exceeds the captured amount.", code="refund_exceeds_payment")
        record["refunded"] = str(refunded + amount)
        refund_id = "re_test_" + secrets.token_hex(12)
        pipe = r.pipeline()
        pipe.set(self._key("intent", intent_id), json.dumps(record), ex=self.TTL)
        if idempotency_key:
            pipe.set(self._key("refund-idem", idempotency_key), json.dumps([refund_id, str(amount)]), ex=self.TTL)
        pipe.execute()
        return GatewayRefund(id=refund_id, intent_id=intent_id, amount=amount)

    def build_webhook(self, *, intent_id: str, succeeded: bool, failure_code: str = "card_declined",
                      event_id: str | None = None, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """Settle pending intent ``intent_id`` and return ``(body, headers)`` of the signed
        webhook the provider would send."""
        self.set_status(intent_id=intent_id, status="succeeded" if succeeded else "failed",
                        failure_code="" if succeeded else failure_code)
        ts = int(time.time()) if timestamp is None else timestamp
        payload = {
            "id": event_id or "evt_test_" + secrets.token_hex(12),
            "type": "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed",
            "created": ts,
            "data": {"intent_id": intent_id, "failure_code": "" if succeeded else failure_code},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER: sign(settings.PAYMENT_WEBHOOK_SECRET, ts, body)}

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        verify_signature(
            secret=settings.PAYMENT_WEBHOOK_SECRET,
            header=headers.get(SIGNATURE_HEADER),
            body=body,
            tolerance=int(getattr(settings, "PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)),
        )
        try:
            payload = json.loads(body)
            event = WebhookEvent(
                id=str(payload["id"])[:120], type=str(payload["type"])[:64],
                intent_id=str(payload["data"]["intent_id"])[:80],
                failure_code=str(payload["data"].get("failure_code") or "")[:64], payload=payload,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookSignatureError("Malformed webhook body.", code="invalid_webhook") from None
        return event


GATEWAYS: dict[str, PaymentGateway] = {"test": TestGateway()}


def get_gateway(name: str | None = None) -> PaymentGateway:
    """The gateway ``name`` (default ``settings.PAYMENT_GATEWAY``). Raises ``GatewayError``
    ``unknown_gateway`` (404-like 400) for a name nobody registered."""
    name = name or getattr(settings, "PAYMENT_GATEWAY", "test")
    gateway = GATEWAYS.get(name)
    if gateway is None:
        raise GatewayError("Unknown payment gateway.", code="unknown_gateway", status=404)
    return gateway
