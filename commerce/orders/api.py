"""REST views of checkout and orders (thin: validate input, call a service, serialize). Every
POST that moves money or stock requires an ``Idempotency-Key`` header (``core.idempotency``): the
same key with the same body replays the first response; with a different body → 422
``idempotency_key_reused``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError, NotFound
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.pagination import NewestFirstCursorPagination
from core.utils import parse_uuid, validated
from core.schema import error_responses

from commerce.orders import checkout as checkouts
from commerce.orders import selectors, services
from commerce.orders.models import Checkout, Order, OrderStatus
from commerce.orders.selectors import order_data_for
from commerce.orders.serializers import (
    CheckoutInputSerializer,
    CheckoutOutputSerializer,
    OrderCancelInputSerializer,
    OrderOutputSerializer,
    OrderStatusInputSerializer,
)


class CheckoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Check out the cart",
        description="Reserves the stock of the cart's lines for `CHECKOUT_RESERVATION_MINUTES` (15) and creates one "
        "`pending_payment` order per vendor with snapshots of the lines and addresses. 409 `insufficient_stock` "
        "lists every short line (`lines`) and reserves nothing. A previous active checkout of yours is replaced.",
        request=CheckoutInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CheckoutOutputSerializer, **error_responses(400, 401, 404, 409, 422)},
        tags=["checkout"],
    )
    @idempotent(scope="checkout")
    def post(self, request: Request) -> Response:
        data = validated(CheckoutInputSerializer, request.data)
        checkout = checkouts.checkout_create(buyer=request.user, **data)
        return Response(selectors.checkout_data(checkout), status=status.HTTP_201_CREATED)


class CheckoutDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    def _get(self, request, checkout_id) -> Checkout:
        checkout = Checkout.objects.filter(pk=checkout_id, buyer=request.user).first()
        if checkout is None:
            raise NotFound("Checkout not found.", code="checkout_not_found")
        return checkout

    @extend_schema(summary="A checkout of yours", responses={200: CheckoutOutputSerializer, **error_responses(401, 404)},
                   tags=["checkout"])
    def get(self, request: Request, checkout_id) -> Response:
        return Response(selectors.checkout_data(self._get(request, checkout_id)))


class CheckoutCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Give up an active checkout", request=None,
                   description="Cancels its unpaid orders and releases the reserved stock.",
                   responses={200: CheckoutOutputSerializer, **error_responses(401, 404, 409)}, tags=["checkout"])
    def post(self, request: Request, checkout_id) -> Response:
        checkout = checkouts.checkout_cancel(buyer=request.user, checkout_id=checkout_id)
        return Response(selectors.checkout_data(checkout))


STATUS_PARAM = OpenApiParameter("status", OpenApiTypes.STR, enum=list(OrderStatus.values),
                                description="Only orders in this status")


class _OrderListBase(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstCursorPagination
    serializer_class = OrderOutputSerializer
    queryset = Order.objects.none()  # for the OpenAPI document; get() builds the list

    def _list(self, request, qs) -> Response:
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in OrderStatus.values:
                raise ApplicationError("Unknown status.", code="invalid", fields={"status": ["Unknown status."]})
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([order_data_for(user=request.user, order=o) for o in page])


class OrderListApi(_OrderListBase):
    @extend_schema(operation_id="orders_list", summary="Your orders (as a buyer)", parameters=[STATUS_PARAM],
                   responses={200: OrderOutputSerializer(many=True), **error_responses(400, 401, 404, e404="Invalid cursor")},
                   tags=["orders"])
    def get(self, request: Request) -> Response:
        return self._list(request, selectors.orders_for_buyer(user=request.user))


class VendorOrderListApi(_OrderListBase):
    @extend_schema(
        summary="Orders of your store(s)",
        description="Orders of the stores you are staff of; `vendor` narrows to one (another store's id gives an "
        "empty list).",
        parameters=[STATUS_PARAM, OpenApiParameter("vendor", OpenApiTypes.UUID)],
        responses={200: OrderOutputSerializer(many=True), **error_responses(400, 401, 404, e404="Invalid cursor")},
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        vendor_id = request.query_params.get("vendor")
        vid = parse_uuid(vendor_id) if vendor_id else None
        if vendor_id and vid is None:
            raise ApplicationError("vendor must be a UUID.", code="invalid", fields={"vendor": ["Not a UUID."]})
        return self._list(request, selectors.orders_for_vendor_staff(user=request.user, vendor_id=vid))


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An order (buyer, the store's staff, admin)",
                   responses={200: OrderOutputSerializer, **error_responses(401, 404)}, tags=["orders"])
    def get(self, request: Request, order_id) -> Response:
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        return Response(order_data_for(user=request.user, order=order))


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
        responses={200: OrderOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
        tags=["orders"],
    )
    def post(self, request: Request, order_id) -> Response:
        data = validated(OrderStatusInputSerializer, request.data)
        order = services.order_transition(user=request.user, order_id=order_id, to_status=data["status"],
                                        reason=data["reason"])
        return Response(order_data_for(user=request.user, order=order))


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Cancel an order", description="Returns its stock; a paid order is refunded in full.",
                   request=OrderCancelInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={200: OrderOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=["orders"])
    @idempotent(scope="order_cancel")
    def post(self, request: Request, order_id) -> Response:
        data = validated(OrderCancelInputSerializer, request.data)
        order = services.order_transition(user=request.user, order_id=order_id, to_status=OrderStatus.CANCELLED,
                                        reason=data["reason"] or "cancelled")
        return Response(order_data_for(user=request.user, order=order))
