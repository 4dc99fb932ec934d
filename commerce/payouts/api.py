"""REST views of payouts (thin: validate input, call a service or selector, serialize): the
store's payout account and withdrawals (its owners), and the marketplace staff's queue and
decisions."""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.schema import error_responses

from commerce.payouts import selectors, services
from commerce.payouts.models import BankDetailsStatus, WithdrawalStatus
from commerce.payouts.serializers import (
    PaidInputSerializer,
    PayoutAccountInputSerializer,
    PayoutAccountOutputSerializer,
    ReasonInputSerializer,
    WithdrawalInputSerializer,
    WithdrawalOutputSerializer,
)
from commerce.stores.selectors import vendor_get

WITHDRAWAL_ID = OpenApiParameter("withdrawal_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
STATUS = OpenApiParameter("status", str, enum=WithdrawalStatus.values, required=False)


def _account_body(request: Request, account) -> dict:
    return selectors.payout_account_data(account, full_iban=selectors.sees_full_iban(request.user))


def _withdrawal_body(request: Request, withdrawal) -> dict:
    return selectors.withdrawal_data(withdrawal, full_iban=selectors.sees_full_iban(request.user))


class PayoutAccountApi(APIView):
    """GET/PUT /vendors/{id}/payout-account/ (the store's owners; admins read)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="A store's payout account (owners)",
        description="Bank details with their verification status, the withdrawal minimum and the money available "
        "now. 404 `payout_account_not_found` before the store set its bank details.",
        responses={200: PayoutAccountOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return Response(_account_body(request, selectors.payout_account_get(user=request.user, vendor_id=vendor_id)))

    @extend_schema(
        summary="Set a store's bank details (owners)",
        description="IBAN and BIC are checked with python-stdnum. New or changed details wait for marketplace staff "
        "to verify them (`unverified`); withdrawals are paid only to verified details. 400 `invalid`, "
        "`invalid_amount`, `minimum_too_low`.",
        request=PayoutAccountInputSerializer,
        responses={200: PayoutAccountOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def put(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor_get(user=request.user, vendor_id=vendor_id)
        data = PayoutAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.payout_account_set(vendor_id=vendor_id, actor=request.user, **data.validated_data)
        return Response(_account_body(request, selectors.payout_account_get(user=request.user, vendor_id=vendor_id)))


class _AccountReviewApi(APIView):
    permission_classes = [IsAuthenticated]

    def review(self, request: Request, vendor_id: uuid.UUID):
        raise NotImplementedError

    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor_get(user=request.user, vendor_id=vendor_id)
        account = self.review(request, vendor_id)
        return Response(_account_body(request, account))


class PayoutAccountVerifyApi(_AccountReviewApi):
    """POST /vendors/{id}/payout-account/verify/ (marketplace staff)."""

    def review(self, request, vendor_id):
        return services.payout_account_verify(vendor_id=vendor_id, actor=request.user)

    @extend_schema(
        summary="Verify a store's bank details (marketplace staff)",
        description="unverified -> verified. 403 `forbidden` for anyone but a marketplace admin who is not on the "
        "store's staff; 409 `invalid_transition`.",
        request=None, responses={200: PayoutAccountOutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return super().post(request, vendor_id)


class PayoutAccountRejectApi(_AccountReviewApi):
    """POST /vendors/{id}/payout-account/reject/ {reason} (marketplace staff)."""

    def review(self, request, vendor_id):
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return services.payout_account_reject(vendor_id=vendor_id, actor=request.user, **data.validated_data)

    @extend_schema(
        summary="Reject a store's bank details (marketplace staff)",
        description="unverified -> rejected, with the reason shown to the store. 409 `invalid_transition`.",
        request=ReasonInputSerializer,
        responses={200: PayoutAccountOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return super().post(request, vendor_id)


class WithdrawalListCreateApi(generics.GenericAPIView):
    """GET /vendors/{id}/withdrawals/ (owners, admins: paginated); POST request one (owners: 201)."""
    permission_classes = [IsAuthenticated]
    serializer_class = WithdrawalOutputSerializer
    filter_backends: list = []

    @extend_schema(
        summary="A store's withdrawals (owners)", parameters=[STATUS],
        responses={200: WithdrawalOutputSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        qs = selectors.withdrawal_list_for_vendor(user=request.user, vendor_id=vendor_id,
                                                  status=request.query_params.get("status"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([_withdrawal_body(request, w) for w in page])

    @extend_schema(
        summary="Withdraw earnings to the bank (owners)",
        description="Holds `amount` of the store's available earnings until marketplace staff pay it (then it is "
        "debited) or reject it (then it is released). Needs verified bank details and an active store. 400 "
        "`invalid_amount`, `below_minimum`; 409 `insufficient_funds`, `bank_details_missing`, "
        "`bank_details_not_verified`, `store_not_active`. Send an `Idempotency-Key`: the same key with the same "
        "body replays the first answer, with another body 422 `idempotency_key_reused`.",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=WithdrawalInputSerializer,
        responses={201: WithdrawalOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)},
    )
    @idempotent(scope="withdrawal_request")
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor_get(user=request.user, vendor_id=vendor_id)
        data = WithdrawalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_request(vendor_id=vendor_id, actor=request.user, **data.validated_data)
        return Response(_withdrawal_body(request, withdrawal), status=status.HTTP_201_CREATED)


class WithdrawalDetailApi(APIView):
    """GET /vendors/{id}/withdrawals/{withdrawal_id}/ (owners, admins)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A withdrawal", parameters=[WITHDRAWAL_ID],
                   responses={200: WithdrawalOutputSerializer, **error_responses(401, 404)})
    def get(self, request: Request, vendor_id: uuid.UUID, withdrawal_id: uuid.UUID) -> Response:
        withdrawal = selectors.withdrawal_get(user=request.user, withdrawal_id=withdrawal_id, vendor_id=vendor_id)
        return Response(_withdrawal_body(request, withdrawal))


class WithdrawalCancelApi(APIView):
    """POST /vendors/{id}/withdrawals/{withdrawal_id}/cancel/ (owners, while requested)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Cancel a requested withdrawal (owners)", parameters=[WITHDRAWAL_ID], request=None,
                   description="requested -> cancelled; the held money is available again. 409 `invalid_transition` "
                   "once staff approved it.",
                   responses={200: WithdrawalOutputSerializer, **error_responses(401, 403, 404, 409)})
    def post(self, request: Request, vendor_id: uuid.UUID, withdrawal_id: uuid.UUID) -> Response:
        selectors.withdrawal_get(user=request.user, withdrawal_id=withdrawal_id, vendor_id=vendor_id)
        withdrawal = services.withdrawal_cancel(withdrawal_id=withdrawal_id, actor=request.user)
        return Response(_withdrawal_body(request, withdrawal))


class WithdrawalQueueApi(generics.GenericAPIView):
    """GET /payouts/withdrawals/ (marketplace staff: paginated, oldest first)."""
    permission_classes = [IsAuthenticated]
    serializer_class = WithdrawalOutputSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Withdrawals of every store (marketplace staff)",
        description="Oldest first; `requested` and `approved` unless `status` says otherwise.",
        parameters=[STATUS], responses={200: WithdrawalOutputSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.withdrawal_queue(user=request.user, status=request.query_params.get("status"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([_withdrawal_body(request, w) for w in page])


class PayoutAccountQueueApi(generics.GenericAPIView):
    """GET /payouts/accounts/ (marketplace staff: paginated)."""
    permission_classes = [IsAuthenticated]
    serializer_class = PayoutAccountOutputSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Bank details to review (marketplace staff)",
        description="`unverified` ones, oldest change first, unless `status` says otherwise.",
        parameters=[OpenApiParameter("status", str, enum=BankDetailsStatus.values, required=False)],
        responses={200: PayoutAccountOutputSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.payout_account_queue(user=request.user, status=request.query_params.get("status"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([_account_body(request, a) for a in page])


class _WithdrawalDecisionApi(APIView):
    permission_classes = [IsAuthenticated]

    def decide(self, request: Request, withdrawal_id: uuid.UUID):
        raise NotImplementedError

    def post(self, request: Request, withdrawal_id: uuid.UUID) -> Response:
        return Response(_withdrawal_body(request, self.decide(request, withdrawal_id)))


class WithdrawalApproveApi(_WithdrawalDecisionApi):
    """POST /payouts/withdrawals/{withdrawal_id}/approve/."""

    def decide(self, request, withdrawal_id):
        return services.withdrawal_approve(withdrawal_id=withdrawal_id, actor=request.user)

    @extend_schema(summary="Approve a withdrawal (marketplace staff)", parameters=[WITHDRAWAL_ID], request=None,
                   description="requested -> approved. 403 `forbidden` for anyone but a marketplace admin who is not on "
                   "the store's staff; 409 `invalid_transition`.",
                   responses={200: WithdrawalOutputSerializer, **error_responses(401, 403, 404, 409)})
    def post(self, request: Request, withdrawal_id: uuid.UUID) -> Response:
        return super().post(request, withdrawal_id)


class WithdrawalPayApi(_WithdrawalDecisionApi):
    """POST /payouts/withdrawals/{withdrawal_id}/pay/ {bank_reference}."""

    def decide(self, request, withdrawal_id):
        data = PaidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return services.withdrawal_mark_paid(withdrawal_id=withdrawal_id, actor=request.user, **data.validated_data)

    @extend_schema(summary="Mark a withdrawal paid (marketplace staff)", parameters=[WITHDRAWAL_ID],
                   description="approved -> paid with the bank transfer's reference; the held money is debited "
                   "(ledger `withdrawal`). 409 `invalid_transition`.",
                   request=PaidInputSerializer,
                   responses={200: WithdrawalOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, withdrawal_id: uuid.UUID) -> Response:
        return super().post(request, withdrawal_id)


class WithdrawalRejectApi(_WithdrawalDecisionApi):
    """POST /payouts/withdrawals/{withdrawal_id}/reject/ {reason}."""

    def decide(self, request, withdrawal_id):
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return services.withdrawal_reject(withdrawal_id=withdrawal_id, actor=request.user, **data.validated_data)

    @extend_schema(summary="Reject a withdrawal (marketplace staff)", parameters=[WITHDRAWAL_ID],
                   description="requested|approved -> rejected with the reason shown to the store; the held money is "
                   "available again. 409 `invalid_transition`.",
                   request=ReasonInputSerializer,
                   responses={200: WithdrawalOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, withdrawal_id: uuid.UUID) -> Response:
        return super().post(request, withdrawal_id)
