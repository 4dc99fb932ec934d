"""REST views of the invoices room (thin): documents as JSON and as PDF, for the buyer, the
store's staff and marketplace admins (anyone else: 404, no hint the document exists)."""

from __future__ import annotations

import json
import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses

from commerce.invoices import selectors
from commerce.invoices.serializers import (
    CreditNoteOutputSerializer,
    InvoiceOutputSerializer,
    OrderDocumentsOutputSerializer,
)
from commerce.invoices.pdf import document_pdf

PDF = "application/pdf"


class PdfRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; a refusal still answers the JSON error
    body (with its own content type)."""

    media_type = PDF
    format = "pdf"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()


def pdf_response(document) -> HttpResponse:
    response = HttpResponse(document_pdf(document), content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


PDF_RESPONSES = {(200, PDF): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF"), **error_responses(401, 404)}


class InvoiceListApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = InvoiceOutputSerializer

    def get_queryset(self):
        """The caller's invoices (``commerce.invoices.selectors.invoices_visible``)."""
        return selectors.invoices_visible(user=self.request.user)

    @extend_schema(summary="Your invoices", operation_id="invoices_list",
                   description="As a buyer, and of the stores you work for; newest first.",
                   responses={200: InvoiceOutputSerializer(many=True), **error_responses(401)}, tags=["invoices"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InvoiceOutputSerializer(page, many=True).data)


class InvoiceDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An invoice", responses={200: InvoiceOutputSerializer, **error_responses(401, 404)},
                   tags=["invoices"])
    def get(self, request: Request, invoice_id: uuid.UUID) -> Response:
        return Response(InvoiceOutputSerializer(selectors.invoice_get_visible(user=request.user,
                                                                              invoice_id=invoice_id)).data)


class InvoicePdfApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(summary="An invoice as PDF", responses=PDF_RESPONSES, tags=["invoices"])
    def get(self, request: Request, invoice_id: uuid.UUID) -> HttpResponse:
        return pdf_response(selectors.invoice_get_visible(user=request.user, invoice_id=invoice_id))


class CreditNoteDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A credit note", responses={200: CreditNoteOutputSerializer, **error_responses(401, 404)},
                   tags=["invoices"])
    def get(self, request: Request, credit_note_id: uuid.UUID) -> Response:
        return Response(CreditNoteOutputSerializer(selectors.credit_note_get_visible(
            user=request.user, credit_note_id=credit_note_id)).data)


class CreditNotePdfApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(summary="A credit note as PDF", responses=PDF_RESPONSES, tags=["invoices"])
    def get(self, request: Request, credit_note_id: uuid.UUID) -> HttpResponse:
        return pdf_response(selectors.credit_note_get_visible(user=request.user, credit_note_id=credit_note_id))


class OrderDocumentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An order's invoice and credit notes",
                   description="The invoice (null until paid) and the credit notes of the order's refunds. The buyer, "
                   "the store's staff, admins; anyone else 404 `order_not_found`.",
                   responses={200: OrderDocumentsOutputSerializer, **error_responses(401, 404)}, tags=["invoices"])
    def get(self, request: Request, order_id: uuid.UUID) -> Response:
        return Response(OrderDocumentsOutputSerializer(selectors.order_documents(user=request.user,
                                                                                 order_id=order_id)).data)
