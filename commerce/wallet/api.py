"""REST views of the wallet (thin): the signed-in user's wallet and its ledger. Top-ups by card
are a payment (``commerce.payments.api``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.pagination import NewestFirstCursorPagination
from core.schema import error_responses

from commerce.wallet import services as wallets
from commerce.wallet.models import LedgerEntry
from commerce.wallet.serializers import WalletEntrySerializer, WalletOutputSerializer


CURRENCY_PARAM = OpenApiParameter("currency", OpenApiTypes.STR, description="ISO 4217, default EUR")


def _currency(request) -> str:
    c = (request.query_params.get("currency") or "EUR").upper()
    if len(c) != 3 or not c.isalpha():
        raise ApplicationError("currency must be an ISO 4217 code.", code="invalid", fields={"currency": ["ISO 4217"]})
    return c


class WalletApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Your wallet and its latest ledger entries",
                   description="`balance` = Σ ledger `amount`; `held_balance` = Σ `held_amount`; available = "
                   "balance − held. Changes are pushed as `wallet.updated` on your `user:` topic.",
                   parameters=[CURRENCY_PARAM], responses={200: WalletOutputSerializer, **error_responses(400, 401)},
                   tags=["wallet"])
    def get(self, request: Request) -> Response:
        return Response(WalletOutputSerializer(wallets.wallet_get(user=request.user, currency=_currency(request))).data)


class WalletLedgerApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstCursorPagination
    serializer_class = WalletEntrySerializer
    queryset = LedgerEntry.objects.none()  # for the OpenAPI document; get() builds the list

    @extend_schema(summary="Your wallet's whole ledger, newest first", parameters=[CURRENCY_PARAM],
                   responses={200: WalletEntrySerializer(many=True), **error_responses(400, 401, 404, e404="Invalid cursor")},
                   tags=["wallet"])
    def get(self, request: Request) -> Response:
        wallet = wallets.wallet_get(user=request.user, currency=_currency(request))
        page = self.paginate_queryset(LedgerEntry.objects.filter(wallet=wallet))
        return self.get_paginated_response(WalletEntrySerializer(page, many=True).data)
