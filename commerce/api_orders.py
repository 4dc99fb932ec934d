"""REST views of checkout, orders, payments, refunds, webhooks and the wallet (thin: validate
input, call a service, serialize). Every POST that moves money or stock requires an
``Idempotency-Key`` header (``core.idempotency``): the same key with the same body replays the
first response; with a different body → 422 ``idempotency_key_reused``."""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.pagination import NewestFirstCursorPagination
from core.utils import parse_uuid, validated

from commerce import checkout as checkouts
from commerce import escrow as escrows
from commerce import orders, payments
from commerce import wallet as wallets
from commerce.api import _errors
from commerce.models import Checkout, LedgerEntry, OrderStatus, WalletDeposit
from commerce.serializers import (
    CheckoutInputSerializer,
    CheckoutOutputSerializer,
    DepositInputSerializer,
    DepositOutputSerializer,
    OrderCancelInputSerializer,
    OrderOutputSerializer,
    OrderStatusInputSerializer,
    PaymentInputSerializer,
    PaymentOutputSerializer,
    RefundInputSerializer,
    RefundOutputSerializer,
    WalletEntrySerializer,
    WalletOutputSerializer,
)


def _order_for(user, order) -> dict[str, Any]:
    """The order payload for ``user``: ``order_data`` plus ``allowed_transitions``, ``escrow``
    and ``allowed_actions`` (buyer protection)."""
    data = orders.order_data(order)
    data["allowed_transitions"] = orders.allowed_transitions_for(user=user, order=order)
    data.update(escrows.order_protection_data(user=user, order=order))
    return data


NewestFirst = NewestFirstCursorPagination


# --- checkout ------------------------------------------------------------------------------


class CheckoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Check out the cart",
        description="Reserves the stock of the cart's lines for `CHECKOUT_RESERVATION_MINUTES` (15) and creates one "
        "`pending_payment` order per vendor with snapshots of the lines and addresses. 409 `insufficient_stock` "
        "lists every short line (`lines`) and reserves nothing. A previous active checkout of yours is replaced.",
        request=CheckoutInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CheckoutOutputSerializer, **_errors(400, 401, 404, 409)},
        tags=["checkout"],
    )
    @idempotent(scope="checkout")
    def post(self, request: Request) -> Response:
        data = validated(CheckoutInputSerializer, request.data)
        checkout = checkouts.checkout_create(buyer=request.user, **data)
        return Response(checkouts.checkout_data(checkout), status=status.HTTP_201_CREATED)


class CheckoutDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    def _get(self, request, checkout_id) -> Checkout:
        checkout = Checkout.objects.filter(pk=checkout_id, buyer=request.user).first()
        if checkout is None:
            raise NotFound("Checkout not found.", code="checkout_not_found")
        return checkout

    @extend_schema(summary="A checkout of yours", responses={200: CheckoutOutputSerializer, **_errors(401, 404)},
                   tags=["checkout"])
    def get(self, request: Request, checkout_id) -> Response:
        return Response(checkouts.checkout_data(self._get(request, checkout_id)))


class CheckoutCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Give up an active checkout", request=None,
                   description="Cancels its unpaid orders and releases the reserved stock.",
                   responses={200: CheckoutOutputSerializer, **_errors(401, 404, 409)}, tags=["checkout"])
    def post(self, request: Request, checkout_id) -> Response:
        checkout = checkouts.checkout_cancel(buyer=request.user, checkout_id=checkout_id)
        return Response(checkouts.checkout_data(checkout))


# --- orders --------------------------------------------------------------------------------

STATUS_PARAM = OpenApiParameter("status", OpenApiTypes.STR, enum=list(OrderStatus.values),
                                description="Only orders in this status")


class _OrderListBase(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirst
    serializer_class = OrderOutputSerializer

    def _list(self, request, qs) -> Response:
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in OrderStatus.values:
                from core.exceptions import ApplicationError

                raise ApplicationError("Unknown status.", code="invalid", fields={"status": ["Unknown status."]})
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([_order_for(request.user, o) for o in page])


class OrderListApi(_OrderListBase):
    @extend_schema(operation_id="orders_list", summary="Your orders (as a buyer)", parameters=[STATUS_PARAM], tags=["orders"])
    def get(self, request: Request) -> Response:
        return self._list(request, orders.orders_for_buyer(user=request.user))


class VendorOrderListApi(_OrderListBase):
    @extend_schema(
        summary="Orders of your store(s)",
        description="Orders of the stores you are staff of; `vendor` narrows to one (another store's id gives an "
        "empty list).",
        parameters=[STATUS_PARAM, OpenApiParameter("vendor", OpenApiTypes.UUID)],
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        vendor_id = request.query_params.get("vendor")
        vid = parse_uuid(vendor_id) if vendor_id else None
        if vendor_id and vid is None:
            from core.exceptions import ApplicationError

            raise ApplicationError("vendor must be a UUID.", code="invalid", fields={"vendor": ["Not a UUID."]})
        return self._list(request, orders.orders_for_vendor_staff(user=request.user, vendor_id=vid))


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An order (buyer, the store's staff, admin)",
                   responses={200: OrderOutputSerializer, **_errors(401, 404)}, tags=["orders"])
    def get(self, request: Request, order_id) -> Response:
        order = orders.order_get_visible(user=request.user, order_id=order_id)
        return Response(_order_for(request.user, order))


class OrderStatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Move an order along its pipeline",
        description="The store moves paid → processing → ready_for_pickup (a delivery appears for couriers), and "
        "after a failed delivery either ready_for_pickup again (a new delivery attempt) or cancelled (full refund, "
        "stock returned); the buyer cancels while pending_payment or paid. out_for_delivery, delivered and "
        "delivery_failed are set only by the delivery flow (the courier's pickup, the buyer's PIN or QR, a failure "
        "report), paid and refunded only by payments and refunds: asking for them is 403 `transition_not_allowed` "
        "for every role. 409 `invalid_transition` for a move the pipeline forbids.",
        request=OrderStatusInputSerializer,
        responses={200: OrderOutputSerializer, **_errors(400, 401, 403, 404, 409)},
        tags=["orders"],
    )
    def post(self, request: Request, order_id) -> Response:
        data = validated(OrderStatusInputSerializer, request.data)
        order = orders.order_transition(user=request.user, order_id=order_id, to_status=data["status"],
                                        reason=data["reason"])
        return Response(_order_for(request.user, order))


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Cancel an order", description="Returns its stock; a paid order is refunded in full.",
                   request=OrderCancelInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={200: OrderOutputSerializer, **_errors(400, 401, 403, 404, 409)}, tags=["orders"])
    @idempotent(scope="order_cancel")
    def post(self, request: Request, order_id) -> Response:
        data = validated(OrderCancelInputSerializer, request.data)
        order = orders.order_transition(user=request.user, order_id=order_id, to_status=OrderStatus.CANCELLED,
                                        reason=data["reason"] or "cancelled")
        return Response(_order_for(request.user, order))


class OrderConfirmReceiptApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Confirm receipt (buyer)",
        description="Ends the buyer protection early: the order's escrow is released to the store now, and no dispute "
        "can be opened after. 403 `receipt_not_allowed` (not the buyer), 409 `not_delivered`, `dispute_open`, "
        "`escrow_not_held`.",
        request=None, parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: OrderOutputSerializer, **_errors(401, 403, 404, 409)}, tags=["orders"],
    )
    @idempotent(scope="order_confirm_receipt")
    def post(self, request: Request, order_id) -> Response:
        escrows.escrow_confirm_receipt(user=request.user, order_id=order_id)
        return Response(_order_for(request.user, orders.order_get_visible(user=request.user, order_id=order_id)))


class OrderPaymentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Payment attempts of an order", responses={200: PaymentOutputSerializer(many=True),
                   **_errors(401, 404)}, tags=["payments"])
    def get(self, request: Request, order_id) -> Response:
        order = orders.order_get_visible(user=request.user, order_id=order_id)
        return Response([payments.payment_data(p) for p in order.payments.all()])

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
        responses={201: PaymentOutputSerializer, **_errors(400, 401, 404, 409)},
        tags=["payments"],
    )
    @idempotent(scope="order_payment", atomic=False)
    def post(self, request: Request, order_id) -> Response:
        data = validated(PaymentInputSerializer, request.data)
        payment = payments.payment_create(user=request.user, order_id=order_id, method=data["method"],
                                          card_token=data["card_token"])
        return Response(payments.payment_data(payment), status=status.HTTP_201_CREATED)


class OrderRefundsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Refund an order (store staff or admin)",
        description="Full (no amount) or partial. A refund completing the total moves the order to `refunded`. "
        "409 `refund_exceeds_payment`, `not_paid`, `insufficient_funds`; 403 `refund_not_allowed`.",
        request=RefundInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: RefundOutputSerializer, **_errors(400, 401, 403, 404, 409)},
        tags=["payments"],
    )
    @idempotent(scope="order_refund")
    def post(self, request: Request, order_id) -> Response:
        data = validated(RefundInputSerializer, request.data)
        refund = payments.refund_create(user=request.user, order_id=order_id, amount=data.get("amount"),
                                        reason=data["reason"])
        order = orders.order_get_visible(user=request.user, order_id=order_id)
        body = {"id": str(refund.id), "payment_id": str(refund.payment_id), "amount": f"{refund.amount:.2f}",
                "reason": refund.reason, "created_at": refund.created_at, "order": _order_for(request.user, order)}
        return Response(body, status=status.HTTP_201_CREATED)


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
        responses={200: OpenApiTypes.OBJECT, **_errors(400, 404)},
        tags=["payments"],
    )
    def post(self, request: Request, gateway: str) -> Response:
        result = payments.payments_handle_webhook(gateway_name=gateway, body=request.body, headers=request.headers)
        return Response(result)


# --- wallet --------------------------------------------------------------------------------

CURRENCY_PARAM = OpenApiParameter("currency", OpenApiTypes.STR, description="ISO 4217, default EUR")


def _wallet_body(wallet) -> dict[str, Any]:
    body = wallets.wallet_data(wallet)
    body["ledger"] = WalletEntrySerializer(wallet.entries.order_by("-id")[:50], many=True).data
    return body


def _currency(request) -> str:
    c = (request.query_params.get("currency") or "EUR").upper()
    if len(c) != 3 or not c.isalpha():
        from core.exceptions import ApplicationError

        raise ApplicationError("currency must be an ISO 4217 code.", code="invalid", fields={"currency": ["ISO 4217"]})
    return c


class WalletApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Your wallet and its latest ledger entries",
                   description="`balance` = Σ ledger `amount`; `held_balance` = Σ `held_amount`; available = "
                   "balance − held. Changes are pushed as `wallet.updated` on your `user:` topic.",
                   parameters=[CURRENCY_PARAM], responses={200: WalletOutputSerializer, **_errors(400, 401)},
                   tags=["wallet"])
    def get(self, request: Request) -> Response:
        return Response(_wallet_body(wallets.wallet_get(user=request.user, currency=_currency(request))))


class WalletLedgerApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirst
    serializer_class = WalletEntrySerializer

    @extend_schema(summary="Your wallet's whole ledger, newest first", parameters=[CURRENCY_PARAM], tags=["wallet"])
    def get(self, request: Request) -> Response:
        wallet = wallets.wallet_get(user=request.user, currency=_currency(request))
        page = self.paginate_queryset(LedgerEntry.objects.filter(wallet=wallet))
        return self.get_paginated_response(WalletEntrySerializer(page, many=True).data)


class WalletDepositApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Top up your wallet by card",
                   description="Test gateway tokens as for payments; a pending deposit is credited once the gateway "
                   "confirms it. Checked before the card is charged: 409 `wallet_limit_exceeded` (with `max_credit`) "
                   "when the balance would pass what a wallet holds (999,999,999,999.99).",
                   request=DepositInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: DepositOutputSerializer, **_errors(400, 401, 409)}, tags=["wallet"])
    @idempotent(scope="wallet_deposit", atomic=False)
    def post(self, request: Request) -> Response:
        data = validated(DepositInputSerializer, request.data)
        deposit: WalletDeposit = payments.deposit_create(user=request.user, amount=data["amount"],
                                                         card_token=data["card_token"], currency=data["currency"])
        wallet = wallets.wallet_get(user=request.user, currency=deposit.currency)
        body = {"id": str(deposit.id), "amount": f"{deposit.amount:.2f}", "currency": deposit.currency,
                "status": deposit.status, "failure_code": deposit.failure_code, "created_at": deposit.created_at,
                "wallet": _wallet_body(wallet)}
        return Response(body, status=status.HTTP_201_CREATED)
