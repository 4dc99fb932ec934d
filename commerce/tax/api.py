"""REST views of the tax room (thin): the rates table (anyone reads) and a store's tax
settings (its owners and managers, marketplace admins)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from core.utils import validated

from commerce.stores.selectors import vendor_get_managed
from commerce.tax import selectors, services
from commerce.tax.serializers import (
    StoreTaxSettingsInputSerializer,
    StoreTaxSettingsOutputSerializer,
    TaxRateListInputSerializer,
    TaxRateOutputSerializer,
)


class TaxRateListApi(generics.GenericAPIView):
    """GET /tax-rates/ (anyone): the rates table."""

    permission_classes = [AllowAny]
    serializer_class = TaxRateOutputSerializer

    def get_queryset(self):
        """The whole rates table (what the list is of; ``get`` narrows it by the query)."""
        return selectors.tax_rates_list()

    @extend_schema(
        summary="Tax rates per country and class",
        description="Value-added tax rates by country (ISO 3166-1 alpha-2) and tax class (`standard`, `reduced`; "
        "`zero` is 0 % everywhere). `on` gives the rates in force that day. The destination country's rate "
        "applies to an order; a country without rates is not taxed (exports).",
        parameters=[OpenApiParameter("country", str), OpenApiParameter("on", str, description="YYYY-MM-DD")],
        responses={200: TaxRateOutputSerializer(many=True), **error_responses(400)},
        tags=["tax"],
    )
    def get(self, request: Request) -> Response:
        params = validated(TaxRateListInputSerializer, request.query_params)
        page = self.paginate_queryset(selectors.tax_rates_list(country=params.get("country"), on=params.get("on")))
        return self.get_paginated_response(TaxRateOutputSerializer(page, many=True).data)


class StoreTaxSettingsApi(APIView):
    """GET/PUT /vendors/{id}/tax-settings/ (the store's owners and managers, admins)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A store's tax settings", responses={200: StoreTaxSettingsOutputSerializer,
                                                               **error_responses(401, 403, 404)}, tags=["tax"])
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor_get_managed(user=request.user, vendor_id=vendor_id)
        return Response(StoreTaxSettingsOutputSerializer(selectors.store_tax_settings(vendor_id=vendor_id)).data)

    @extend_schema(
        summary="Set whether a store's prices include tax",
        description="Orders already placed keep what they were charged; carts holding the store's products are "
        "refreshed. Store owners and managers, marketplace admins; other staff of the store 403 "
        "`store_settings_not_allowed`; anyone else 404 `vendor_not_found`.",
        request=StoreTaxSettingsInputSerializer,
        responses={200: StoreTaxSettingsOutputSerializer, **error_responses(400, 401, 403, 404)},
        tags=["tax"],
    )
    def put(self, request: Request, vendor_id: uuid.UUID) -> Response:
        data = validated(StoreTaxSettingsInputSerializer, request.data)
        settings = services.store_tax_settings_update(user=request.user, vendor_id=vendor_id, **data)
        return Response(StoreTaxSettingsOutputSerializer(settings).data)
