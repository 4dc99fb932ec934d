"""REST views of stores (thin: validate input, call a service or selector, serialize): list and
apply (anyone reads; a signed-in user applies), a store's page, and admin approval."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from commerce.common.api import ReadOpenMixin
from commerce.stores import selectors, services
from commerce.stores.models import VendorStatus
from commerce.stores.serializers import VendorApplyInputSerializer, VendorOutputSerializer


def _vendor_ctx(request) -> dict:
    """Serializer context: which stores' private fields (``owner_id``) the caller may see."""
    return {"private_vendor_ids": selectors.vendor_private_ids(request.user)}


class VendorListCreateApi(ReadOpenMixin, generics.GenericAPIView):
    """GET /vendors/ (200, paginated); POST /vendors/ apply (201; 400 invalid, 401, 409 application_pending)."""
    serializer_class = VendorOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = selectors.vendor_list(user=self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted in VendorStatus.values:
            qs = qs.filter(status=wanted)
        return qs

    @extend_schema(
        summary="List vendors",
        description="Active vendors; a signed-in user also sees the stores they are staff of; admins see all. "
        "`status` filters (pending, active, suspended).",
        parameters=[OpenApiParameter("status", str, enum=VendorStatus.values, required=False)],
        responses={200: VendorOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(VendorOutputSerializer(page, many=True, context=_vendor_ctx(request)).data)

    @extend_schema(
        summary="Apply to open a store",
        description="Creates a `pending` vendor owned by the caller. An admin activates it; activation gives the "
        "owner the `vendor` role. 409 `application_pending` when the caller already has a pending store.",
        request=VendorApplyInputSerializer,
        responses={201: VendorOutputSerializer, **error_responses(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        data = VendorApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vendor = services.vendor_apply(user=request.user, **data.validated_data)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data, status=status.HTTP_201_CREATED)


class VendorDetailApi(APIView):
    """GET /vendors/{id}/ (200; 404 vendor_not_found when unknown or not visible)."""
    permission_classes = [AllowAny]

    @extend_schema(summary="A vendor", responses={200: VendorOutputSerializer, **error_responses(404)})
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor = selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data)


class _VendorTransitionApi(APIView):
    """POST a status transition (admin): 200 vendor; 403 forbidden; 404 vendor_not_found; 409 invalid_transition."""
    permission_classes = [IsAuthenticated]
    target: str = ""

    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor = services.vendor_set_status(vendor_id=vendor_id, status=self.target, actor=request.user)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data)


class VendorActivateApi(_VendorTransitionApi):
    """POST /vendors/{id}/activate/ (admin)."""
    target = VendorStatus.ACTIVE

    @extend_schema(
        summary="Activate a vendor (admin)",
        description="pending|suspended -> active. 409 `invalid_transition` otherwise.",
        request=None,
        responses={200: VendorOutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return super().post(request, vendor_id)


class VendorSuspendApi(_VendorTransitionApi):
    """POST /vendors/{id}/suspend/ (admin)."""
    target = VendorStatus.SUSPENDED

    @extend_schema(
        summary="Suspend a vendor (admin)",
        description="active -> suspended: its products leave the catalogue. 409 `invalid_transition` otherwise.",
        request=None,
        responses={200: VendorOutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return super().post(request, vendor_id)
