"""REST views of the catalogue (thin: validate input, call a service or selector, serialize).
Reads are open to anonymous users; product writes need staff of an active vendor."""

from __future__ import annotations

import uuid

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters as drf_filters
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from core.utils import validated
from commerce.catalog import media, selectors, services
from commerce.catalog.filters import ProductFilter, StableOrderingFilter
from commerce.catalog.serializers import (
    BrandOutputSerializer,
    CategoryOutputSerializer,
    ProductCreateInputSerializer,
    ProductImageOrderInputSerializer,
    ProductImageOutputSerializer,
    ProductImageUpdateInputSerializer,
    ProductImageUploadInputSerializer,
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
    ordering_fields = ["price", "created_at", "name", "rating"]
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
                enum=["price", "-price", "created_at", "-created_at", "name", "-name", "rating", "-rating"],
                description="Sort order (default `-created_at`); by `rating` unrated products come last either way.",
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


IMAGE_ID = OpenApiParameter("image_id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _images_body(product_id: uuid.UUID, user) -> list[dict]:
    product = selectors.product_get(user=user, product_id=product_id)
    return ProductImageOutputSerializer(product.images.all(), many=True).data


class ProductImageListApi(ReadOpenMixin, APIView):
    """GET /products/{id}/images/ (whoever sees the product); POST upload (multipart ``file``:
    the store's owners and managers, 201)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="A product's images", description="In display order; one is primary.",
                   responses={200: ProductImageOutputSerializer(many=True), **error_responses(404)})
    def get(self, request: Request, product_id: uuid.UUID) -> Response:
        return Response(_images_body(product_id, request.user))

    @extend_schema(
        summary="Upload a product image (the store's owners and managers)",
        description="Multipart field `file`: JPEG, PNG, GIF or WebP by content (not by name or declared type), at "
        "most `PRODUCT_IMAGE_MAX_BYTES` (10 MiB) and `PRODUCT_IMAGE_MAX_PIXELS` (40 million pixels, "
        "`PRODUCT_IMAGE_MAX_SIDE` per side). Re-encoded without metadata (EXIF, GPS, XMP, comments), at most "
        "`PRODUCT_IMAGE_SIDE` (2048) pixels per side, with two WebP thumbnails; stored through Django's default "
        "storage (file system, or S3-compatible with `MEDIA_S3_BUCKET`). Placed last; primary when `is_primary` or "
        "when it is the product's first image. 400 `invalid_image`, `image_too_large`; 403 `not_vendor`, "
        "`role_forbidden`; 404 `product_not_found`; 409 `too_many_images` (`PRODUCT_IMAGES_MAX`).",
        request={"multipart/form-data": ProductImageUploadInputSerializer},
        responses={201: ProductImageOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, product_id: uuid.UUID) -> Response:
        data = request.data
        fields = validated(ProductImageUpdateInputSerializer,
                           {k: data[k] for k in ("alt_text", "is_primary") if k in data})
        image = media.product_image_upload(user=request.user, product_id=product_id, file=request.FILES.get("file"),
                                           alt_text=fields.get("alt_text"), is_primary=fields.get("is_primary", False))
        return Response(ProductImageOutputSerializer(image).data, status=status.HTTP_201_CREATED)


class ProductImageOrderApi(APIView):
    """PUT /products/{id}/images/order/ {"ids": [...]}: the new order (owners and managers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Reorder a product's images (the store's owners and managers)",
                   description="`ids`: every image id of the product, each once. 400 `invalid`.",
                   request=ProductImageOrderInputSerializer,
                   responses={200: ProductImageOutputSerializer(many=True), **error_responses(400, 401, 403, 404)})
    def put(self, request: Request, product_id: uuid.UUID) -> Response:
        data = validated(ProductImageOrderInputSerializer, request.data)
        images = media.product_images_reorder(user=request.user, product_id=product_id, image_ids=data["ids"])
        return Response(ProductImageOutputSerializer(images, many=True).data)


class ProductImageDetailApi(APIView):
    """PATCH /products/{id}/images/{image_id}/ alt text, primary; DELETE (owners and managers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Change an image's alt text or make it primary (the store's owners and managers)",
                   description="`is_primary: true` makes it the primary image (the previous one stops being "
                   "primary); `false` is refused (400): choose another image instead. 404 `image_not_found`.",
                   parameters=[IMAGE_ID], request=ProductImageUpdateInputSerializer,
                   responses={200: ProductImageOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request: Request, product_id: uuid.UUID, image_id: int) -> Response:
        data = validated(ProductImageUpdateInputSerializer, request.data)
        image = media.product_image_update(user=request.user, product_id=product_id, image_id=image_id, **data)
        return Response(ProductImageOutputSerializer(image).data)

    @extend_schema(summary="Delete a product image (the store's owners and managers)",
                   description="Its files are removed; when it was primary, the first remaining image becomes "
                   "primary.", parameters=[IMAGE_ID], request=None,
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, product_id: uuid.UUID, image_id: int) -> Response:
        media.product_image_delete(user=request.user, product_id=product_id, image_id=image_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
