"""REST views of disputes (thin: validate, call ``commerce.disputes.services``, render ``dispute_data``).

Buyer: open (``POST /orders/{id}/disputes/``), view, add statements, withdraw. Store staff: view,
respond (statements). Marketplace staff: the queue, statements, resolve (``Idempotency-Key``:
money moves). Anyone else gets 404 ``dispute_not_found``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.pagination import NewestFirstCursorPagination
from core.utils import validated
from core.schema import error_responses

from commerce.disputes import selectors, services
from commerce.disputes.models import Dispute
from commerce.orders.selectors import order_get_visible
from commerce.disputes.serializers import (
    DisputeDetailOutputSerializer,
    DisputeOpenInputSerializer,
    DisputeOutputSerializer,
    DisputeResolveInputSerializer,
    DisputeStatementInputSerializer,
    DisputeStatementOutputSerializer,
)

TAGS = ["disputes"]


def _detail(request, dispute) -> Response:
    dispute = selectors.dispute_get_visible(user=request.user, dispute_id=dispute.pk)
    return Response(selectors.dispute_data(dispute, viewer=request.user, with_statements=True))


class OrderDisputesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Disputes of an order", responses={200: DisputeOutputSerializer(many=True), **error_responses(401, 404)},
                   tags=TAGS)
    def get(self, request: Request, order_id) -> Response:
        order = order_get_visible(user=request.user, order_id=order_id)
        return Response([selectors.dispute_data(d, viewer=request.user) for d in
                         selectors.disputes_for(user=request.user).filter(order=order)])

    @extend_schema(
        summary="Open a dispute (buyer)",
        description="Inside the buyer-protection window (delivery proven, `BUYER_PROTECTION_DAYS` not passed, receipt "
        "not confirmed): freezes the order's escrow until marketplace staff decide. 403 `dispute_not_allowed` (not "
        "the buyer); 409 `not_delivered`, `protection_ended`, `dispute_exists` (disputed before), "
        "`dispute_already_open`.",
        request=DisputeOpenInputSerializer,
        responses={201: DisputeDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS,
    )
    def post(self, request: Request, order_id) -> Response:
        data = validated(DisputeOpenInputSerializer, request.data)
        dispute = services.dispute_open(user=request.user, order_id=order_id, reason=data["reason"],
                                        description=data["description"], claimed_amount=data.get("claimed_amount"))
        response = _detail(request, dispute)
        response.status_code = status.HTTP_201_CREATED
        return response


class DisputeListApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstCursorPagination
    serializer_class = DisputeOutputSerializer
    queryset = Dispute.objects.none()  # for the OpenAPI document; get() builds the list

    @extend_schema(summary="Disputes you take part in", operation_id="disputes_list",
                   description="As the buyer or the store's staff; marketplace staff see all. `status` narrows.",
                   parameters=[OpenApiParameter("status", OpenApiTypes.STR)],
                   responses={200: DisputeOutputSerializer(many=True),
                              **error_responses(400, 401, 404, e404="Invalid cursor")}, tags=TAGS)
    def get(self, request: Request) -> Response:
        qs = selectors.disputes_for(user=request.user, status=request.query_params.get("status") or None)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([selectors.dispute_data(d, viewer=request.user) for d in page])


class DisputeQueueApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The open-dispute queue (marketplace staff)",
                   description="Open disputes, the longest waiting first (at most 200). 403 `staff_only`.",
                   responses={200: DisputeOutputSerializer(many=True), **error_responses(401, 403)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response([selectors.dispute_data(d, viewer=request.user)
                         for d in selectors.disputes_queue(user=request.user)[:200]])


class DisputeDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A dispute with its statements", responses={200: DisputeDetailOutputSerializer, **error_responses(401, 404)},
                   tags=TAGS)
    def get(self, request: Request, dispute_id) -> Response:
        dispute = selectors.dispute_get_visible(user=request.user, dispute_id=dispute_id)
        return Response(selectors.dispute_data(dispute, viewer=request.user, with_statements=True))


class DisputeStatementsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Add a statement (buyer, store staff: the store's response, marketplace staff)",
                   description="While the dispute is open (409 `dispute_not_open`).",
                   request=DisputeStatementInputSerializer,
                   responses={201: DisputeStatementOutputSerializer, **error_responses(400, 401, 404, 409)}, tags=TAGS)
    def post(self, request: Request, dispute_id) -> Response:
        data = validated(DisputeStatementInputSerializer, request.data)
        statement = services.dispute_add_statement(user=request.user, dispute_id=dispute_id, text=data["text"])
        return Response(selectors.statement_data_for(user=request.user, statement=statement), status=status.HTTP_201_CREATED)


class DisputeWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Withdraw your dispute (buyer)",
                   description="The escrow is unfrozen (released at once if the window has passed). 403 "
                   "`withdraw_not_allowed`, 409 `invalid_transition` (the dispute already ended).", request=None,
                   responses={200: DisputeDetailOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, dispute_id) -> Response:
        return _detail(request, services.dispute_withdraw(user=request.user, dispute_id=dispute_id))


class DisputeResolveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Resolve a dispute (marketplace staff)",
        description="`release` (the escrow goes to the store), `partial_refund` with `amount` (back to the buyer, the "
        "rest to the store) or `refund` (all that is refundable back to the buyer; the order becomes refunded). "
        "403 `staff_only`; 409 `invalid_transition` (someone resolved it first), `insufficient_funds` (a released "
        "escrow must come back from the store's wallet); 400 `invalid_amount`.",
        request=DisputeResolveInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: DisputeDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=TAGS,
    )
    @idempotent(scope="dispute_resolve")
    def post(self, request: Request, dispute_id) -> Response:
        data = validated(DisputeResolveInputSerializer, request.data)
        dispute = services.dispute_resolve(user=request.user, dispute_id=dispute_id, resolution=data["resolution"],
                                           amount=data.get("amount"), note=data["note"])
        return _detail(request, dispute)
