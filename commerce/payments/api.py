"""REST views of payments (thin): paying an order, its payment attempts, refunds, the gateway's
webhook, wallet top-ups by card, and the buyer's receipt confirmation (the end of the buyer
protection). Every POST that moves money requires an ``Idempotency-Key`` header
(``core.idempotency``)."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.utils import validated
from core.schema import error_responses

from commerce.orders.selectors import order_data_for, order_get_visible
from commerce.orders.serializers import OrderOutputSerializer
from commerce.payments import services as payments
from commerce.payments.escrow import escrow_confirm_receipt
from commerce.payments.models import WalletDeposit
from commerce.payments.serializers import (
    DepositInputSerializer,
    DepositOutputSerializer,
    PaymentInputSerializer,
    PaymentOutputSerializer,
    RefundInputSerializer,
    RefundOutputSerializer,
    WebhookResultSerializer,
)
from commerce.wallet import services as wallets


class OrderConfirmReceiptApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Confirm receipt (buyer)",
        description="Ends the buyer protection early: the order's escrow is released to the store now, and no dispute "
        "can be opened after. 403 `receipt_not_allowed` (not the buyer), 409 `not_delivered`, `dispute_open`, "
        "`escrow_not_held`.",
        request=None, parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: OrderOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=["orders"],
    )
    @idempotent(scope="order_confirm_receipt")
    def post(self, request: Request, order_id) -> Response:
        escrow_confirm_receipt(user=request.user, order_id=order_id)
        return Response(order_data_for(user=request.user, order=order_get_visible(user=request.user, order_id=order_id)))


class OrderPaymentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Payment attempts of an order", responses={200: PaymentOutputSerializer(many=True),
                   **error_responses(401, 404)}, tags=["payments"])
    def get(self, request: Request, order_id) -> Response:
        order = order_get_visible(user=request.user, order_id=order_id)
        return Response(PaymentOutputSerializer(order.payments.all(), many=True).data)

    @extend_schema(
        summary="Pay an order",
        description="By card through the payment gateway (test gateway tokens: `tok_visa` succeeds, `tok_pending` "
        "waits for a webhook, `tok_decline` / `tok_insufficient` fail) or from your wallet. 201 with the attempt: "
        "`succeeded` (order paid), `pending`, `failed` (`failure_code`) or `reversed` (charged after the order "
        "stopped being payable: refunded). The attempt is recorded before the gateway is called. 409 "
        "`order_not_payable`, `payment_pending`, `insufficient_funds`; 503 `gateway_unavailable` (the attempt stays "
        "pending and is settled from the gateway's state later).",
        request=PaymentInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: PaymentOutputSerializer, **error_responses(400, 401, 404, 409, 422, 503)},
        tags=["payments"],
    )
    @idempotent(scope="order_payment", atomic=False)
    def post(self, request: Request, order_id) -> Response:
        data = validated(PaymentInputSerializer, request.data)
        payment = payments.payment_create(user=request.user, order_id=order_id, method=data["method"],
                                          card_token=data["card_token"])
        return Response(PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class OrderRefundsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Refund an order (store staff or admin)",
        description="Full (no amount: everything left, the shipping fee included) or partial (`amount` of goods; the "
        "shipping fee comes back only with `include_shipping`, which adds what is left of it). A refund completing "
        "the total moves the order to `refunded`; each refund of an invoiced order issues a credit note. "
        "409 `refund_exceeds_payment` (with `refundable`, `refundable_goods`, `refundable_shipping`), `not_paid`, "
        "`insufficient_funds`; 403 `refund_not_allowed`.",
        request=RefundInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: RefundOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422, 503)},
        tags=["payments"],
    )
    @idempotent(scope="order_refund")
    def post(self, request: Request, order_id) -> Response:
        data = validated(RefundInputSerializer, request.data)
        refund = payments.refund_create(user=request.user, order_id=order_id, amount=data.get("amount"),
                                        include_shipping=data["include_shipping"], reason=data["reason"])
        order = order_data_for(user=request.user, order=order_get_visible(user=request.user, order_id=order_id))
        return Response(RefundOutputSerializer(refund, context={"order": order}).data, status=status.HTTP_201_CREATED)


@method_decorator(csrf_exempt, name="dispatch")
class PaymentWebhookApi(APIView):
    """Gateway → marketplace. Authenticated by its HMAC signature, not by a user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Payment gateway webhook",
        description="Header `Gateway-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>`; a timestamp "
        "more than 300 s away is refused. The payload is only a hint: the gateway is asked for the intent's state, "
        "which is applied only when it is ours, matches our amount and currency, and agrees with the event "
        "(`result`: `unknown_intent`, `intent_pending`, `status_mismatch`, `intent_mismatch` change nothing). Each "
        "event id is applied once: a duplicate answers `{\"result\": \"duplicate\"}`. 400 `invalid_signature` "
        "changes nothing.",
        request=OpenApiTypes.OBJECT,
        responses={200: WebhookResultSerializer, **error_responses(400, 404)},
        tags=["payments"],
    )
    def post(self, request: Request, gateway: str) -> Response:
        result = payments.payments_handle_webhook(gateway_name=gateway, body=request.body, headers=request.headers)
        return Response(WebhookResultSerializer(result).data)


class WalletDepositApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Top up your wallet by card",
                   description="Test gateway tokens as for payments; a pending deposit is credited once the gateway "
                   "confirms it. Checked before the card is charged: 409 `wallet_limit_exceeded` (with `max_credit`) "
                   "when the balance would pass what a wallet holds (999,999,999,999.99).",
                   request=DepositInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: DepositOutputSerializer, **error_responses(400, 401, 409, 422, 503)}, tags=["wallet"])
    @idempotent(scope="wallet_deposit", atomic=False)
    def post(self, request: Request) -> Response:
        data = validated(DepositInputSerializer, request.data)
        deposit: WalletDeposit = payments.deposit_create(user=request.user, amount=data["amount"],
                                                         card_token=data["card_token"], currency=data["currency"])
        wallet = wallets.wallet_get(user=request.user, currency=deposit.currency)
        return Response(DepositOutputSerializer(deposit, context={"wallet": wallet}).data, status=status.HTTP_201_CREATED)
