"""REST views of catalogue import and export (thin; ``commerce.catalog.imports``): for the
store's owners and managers and marketplace admins (an upload only by the owners and managers
of an active store: 403 ``not_vendor`` otherwise); the store's other staff 403
``store_settings_not_allowed``, anyone else 404 ``vendor_not_found``."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from core.utils import validated

from commerce.catalog import imports
from commerce.catalog.serializers import (
    CatalogExportInputSerializer,
    CatalogImportDetailOutputSerializer,
    CatalogImportInputSerializer,
    CatalogImportOutputSerializer,
)

TAGS = ["catalogue import"]
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file_response(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


class CatalogImportListApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="A store's catalogue imports", tags=TAGS,
                   responses={200: CatalogImportOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        jobs = imports.catalog_imports_of(user=request.user, vendor_id=vendor_id)
        return Response(CatalogImportOutputSerializer(jobs, many=True).data)

    @extend_schema(
        summary="Upload a catalogue (CSV or XLSX)",
        description="Multipart field `file`. Queues a job that upserts products by SKU, per row (a bad row is "
        "reported and the others go in; the same file again changes nothing) and publishes "
        "`catalog_import.progress` on `vendor:<id>`. 202 with the queued import; 400 `invalid_file` (empty, too "
        "large, not CSV/XLSX).",
        request={"multipart/form-data": CatalogImportInputSerializer},
        responses={202: CatalogImportOutputSerializer, **error_responses(400, 401, 403, 404)}, tags=TAGS,
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        upload = validated(CatalogImportInputSerializer, request.data)["file"]
        job = imports.catalog_import_start(user=request.user, vendor_id=vendor_id, file_name=upload.name,
                                           data=upload.read(imports.max_bytes() + 1))
        return Response(CatalogImportOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CatalogImportDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A catalogue import, with its error report", tags=TAGS,
                   responses={200: CatalogImportDetailOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, vendor_id: uuid.UUID, import_id: uuid.UUID) -> Response:
        job = imports.catalog_import_get(user=request.user, vendor_id=vendor_id, import_id=import_id)
        return Response(CatalogImportDetailOutputSerializer(job).data)


class CatalogImportErrorsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A catalogue import's error report as CSV (line, sku, field, message)", tags=TAGS,
                   responses={(200, CSV): OpenApiResponse(OpenApiTypes.BINARY), **error_responses(401, 403, 404)})
    def get(self, request: Request, vendor_id: uuid.UUID, import_id: uuid.UUID) -> HttpResponse:
        job = imports.catalog_import_get(user=request.user, vendor_id=vendor_id, import_id=import_id)
        return _file_response(imports.error_report(job), f"{CSV}; charset=utf-8", f"import-{job.pk}-errors.csv")


class CatalogExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Download the store's catalogue (CSV or XLSX)",
        description="Every live product, by SKU, in the import's columns: importing the file changes nothing.",
        parameters=[OpenApiParameter("file_format", str, enum=["csv", "xlsx"], description="Default csv")],
        responses={(200, CSV): OpenApiResponse(OpenApiTypes.BINARY),
                   (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY), **error_responses(400, 401, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, vendor_id: uuid.UUID) -> HttpResponse:
        file_format = validated(CatalogExportInputSerializer, request.query_params)["file_format"]
        data = imports.catalog_export(user=request.user, vendor_id=vendor_id, file_format=file_format)
        content_type = f"{CSV}; charset=utf-8" if file_format == "csv" else XLSX
        return _file_response(data, content_type, f"catalogue-{vendor_id}.{file_format}")
