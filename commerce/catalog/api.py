"""REST views of the catalogue (thin: validate input, call a service or selector, serialize).
Reads are open to anonymous users; product writes need staff of an active vendor."""

from __future__ import annotations

import uuid

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters as drf_filters
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from commerce.catalog import selectors, services
from commerce.catalog.filters import ProductFilter, StableOrderingFilter
from commerce.catalog.serializers import (
    BrandOutputSerializer,
    CategoryOutputSerializer,
    ProductCreateInputSerializer,
    ProductOutputSerializer,
    ProductUpdateInputSerializer,
)
from commerce.common.api import ReadOpenMixin


class CategoryListApi(generics.ListAPIView):
    """GET /categories/: flat list with parent_id and depth (not paginated)."""
    permission_classes = [AllowAny]
    serializer_class = CategoryOutputSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return selectors.category_list()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "depths": selectors.category_depths()}

    @extend_schema(
        summary="Category tree (flat)",
        description="Every category with its `parent_id` (null for roots) and `depth` (0 for roots); not paginated.",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class BrandListApi(generics.ListAPIView):
    """GET /brands/ (not paginated)."""
    permission_classes = [AllowAny]
    serializer_class = BrandOutputSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return selectors.brand_list()

    @extend_schema(summary="Brands", description="Every brand; not paginated.")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


class ProductListCreateApi(ReadOpenMixin, generics.GenericAPIView):
    """GET /products/ (public search, filters in ``commerce.catalog.filters``); POST /products/ (vendor staff: 201;
    400 invalid; 401; 403 not_vendor; 409 sku_taken)."""
    serializer_class = ProductOutputSerializer
    filter_backends = [DjangoFilterBackend, drf_filters.SearchFilter, StableOrderingFilter]
    filterset_class = ProductFilter
    search_fields = ["name", "sku"]
    ordering_fields = ["price", "created_at", "name"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.product_list_for_user(user=self.request.user, mine=_truthy(self.request.query_params.get("mine")))

    @extend_schema(
        summary="Search the catalogue",
        description="Active products of active vendors (anyone may read). Filters: see the parameters; "
        "`attr=<key>:<value>` is repeatable and matches a JSON attribute (or an element of a list attribute). "
        "`mine=true` (vendor staff) lists all the caller's vendors' products, active or not.",
        parameters=[
            OpenApiParameter("mine", OpenApiTypes.BOOL, required=False),
            OpenApiParameter(
                "attr", OpenApiTypes.STR, many=True, explode=True, required=False,
                description="`<key>:<value>`, repeatable (all must match), e.g. `attr=material:steel&attr=fits:VW Golf VII`",
            ),
            OpenApiParameter(
                "ordering", OpenApiTypes.STR, required=False,
                enum=["price", "-price", "created_at", "-created_at", "name", "-name"],
                description="Sort order (default `-created_at`).",
            ),
        ],
        responses={200: ProductOutputSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ProductOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a product (vendor staff)",
        description="403 `not_vendor` unless the caller is staff of an active vendor; 409 `sku_taken`.",
        request=ProductCreateInputSerializer,
        responses={201: ProductOutputSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        data = ProductCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(user=request.user, **data.validated_data)
        product = selectors.product_get(user=request.user, product_id=product.pk)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(ReadOpenMixin, APIView):
    """GET/PATCH/DELETE /products/{id}/: read (public), change (200) or soft-delete (204) by the vendor's staff.
    403 not_vendor; 404 product_not_found (also for another vendor's product); 400 invalid; 409 sku_taken."""
    @extend_schema(
        summary="A product",
        description="Public products for anyone; vendor staff also see their own inactive products.",
        responses={200: ProductOutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, product_id: uuid.UUID) -> Response:
        return Response(ProductOutputSerializer(selectors.product_get(user=request.user, product_id=product_id)).data)

    @extend_schema(
        summary="Change a product (its vendor's staff)",
        description="Price and stock changes are recorded in the history and pushed (`cart.updated`) to every cart "
        "holding the product. 403 `not_vendor`; 404 `product_not_found` for another vendor's product.",
        request=ProductUpdateInputSerializer,
        responses={200: ProductOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, product_id: uuid.UUID) -> Response:
        current = selectors.product_get_editable(user=request.user, product_id=product_id)
        data = ProductUpdateInputSerializer(data=request.data, context={"product": current})
        data.is_valid(raise_exception=True)
        services.product_update(user=request.user, product_id=product_id, **data.validated_data)
        return Response(ProductOutputSerializer(selectors.product_get(user=request.user, product_id=product_id)).data)

    @extend_schema(
        summary="Delete a product (soft; its vendor's staff)",
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, product_id: uuid.UUID) -> Response:
        services.product_delete(user=request.user, product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
