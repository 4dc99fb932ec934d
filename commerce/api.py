"""REST views of commerce (thin: validate input, call a service or selector, serialize).

Errors are ``{"code", "detail", "fields"?}`` (see ``core.exceptions``). Catalogue reads are open
to anonymous users; the cart works for anonymous users through the ``X-Cart-Id`` header.
"""

from __future__ import annotations

import uuid

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters as drf_filters
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from commerce import selectors, services
from commerce.filters import ProductFilter, StableOrderingFilter
from commerce.models import VendorStatus
from commerce.serializers import (
    BrandOutputSerializer,
    CartItemAddInputSerializer,
    CartItemQuantityInputSerializer,
    CartOutputSerializer,
    CategoryOutputSerializer,
    CommerceErrorSerializer,
    ProductCreateInputSerializer,
    ProductOutputSerializer,
    ProductUpdateInputSerializer,
    VendorApplyInputSerializer,
    VendorOutputSerializer,
)

CART_HEADER = "X-Cart-Id"


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    text = {
        400: "Invalid input (code `invalid` with `fields`, or a domain code)",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with the current state",
    }
    return {c: OpenApiResponse(CommerceErrorSerializer, description=text[c]) for c in codes}


class _ReadOpenMixin:
    """GET/HEAD/OPTIONS for anyone; other methods need a signed-in user."""

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticated()]


# --- Vendors --------------------------------------------------------------------------------


def _vendor_ctx(request) -> dict:
    """Serializer context: which stores' private fields (``owner_id``) the caller may see."""
    return {"private_vendor_ids": selectors.vendor_private_ids(request.user)}


class VendorListCreateApi(_ReadOpenMixin, generics.GenericAPIView):
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
        responses={201: VendorOutputSerializer, **_errors(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        data = VendorApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vendor = services.vendor_apply(user=request.user, **data.validated_data)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data, status=status.HTTP_201_CREATED)


class VendorDetailApi(APIView):
    """GET /vendors/{id}/ (200; 404 vendor_not_found when unknown or not visible)."""
    permission_classes = [AllowAny]

    @extend_schema(summary="A vendor", responses={200: VendorOutputSerializer, **_errors(404)})
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
        responses={200: VendorOutputSerializer, **_errors(401, 403, 404, 409)},
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
        responses={200: VendorOutputSerializer, **_errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return super().post(request, vendor_id)


# --- Catalogue ------------------------------------------------------------------------------


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


class ProductListCreateApi(_ReadOpenMixin, generics.GenericAPIView):
    """GET /products/ (public search, filters in ``commerce.filters``); POST /products/ (vendor staff: 201;
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
        responses={200: ProductOutputSerializer(many=True), **_errors(400)},
    )
    def get(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ProductOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a product (vendor staff)",
        description="403 `not_vendor` unless the caller is staff of an active vendor; 409 `sku_taken`.",
        request=ProductCreateInputSerializer,
        responses={201: ProductOutputSerializer, **_errors(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        data = ProductCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(user=request.user, **data.validated_data)
        product = selectors.product_get(user=request.user, product_id=product.pk)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(_ReadOpenMixin, APIView):
    """GET/PATCH/DELETE /products/{id}/: read (public), change (200) or soft-delete (204) by the vendor's staff.
    403 not_vendor; 404 product_not_found (also for another vendor's product); 400 invalid; 409 sku_taken."""
    @extend_schema(
        summary="A product",
        description="Public products for anyone; vendor staff also see their own inactive products.",
        responses={200: ProductOutputSerializer, **_errors(404)},
    )
    def get(self, request: Request, product_id: uuid.UUID) -> Response:
        return Response(ProductOutputSerializer(selectors.product_get(user=request.user, product_id=product_id)).data)

    @extend_schema(
        summary="Change a product (its vendor's staff)",
        description="Price and stock changes are recorded in the history and pushed (`cart.updated`) to every cart "
        "holding the product. 403 `not_vendor`; 404 `product_not_found` for another vendor's product.",
        request=ProductUpdateInputSerializer,
        responses={200: ProductOutputSerializer, **_errors(400, 401, 403, 404, 409)},
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
        responses={204: None, **_errors(401, 403, 404)},
    )
    def delete(self, request: Request, product_id: uuid.UUID) -> Response:
        services.product_delete(user=request.user, product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Cart -----------------------------------------------------------------------------------

CART_ID_PARAM = OpenApiParameter(
    CART_HEADER,
    OpenApiTypes.UUID,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Anonymous cart id (ignored when signed in). When missing or unknown the server creates a cart "
    "and returns its id in the body and in the X-Cart-Id response header.",
)


class _CartMixin:
    """Resolves the caller's cart: the user's, or the anonymous one of ``X-Cart-Id``."""

    permission_classes = [AllowAny]

    def cart_ref(self, request: Request) -> dict:
        if request.user and request.user.is_authenticated:
            return {"user": request.user}
        raw = request.headers.get(CART_HEADER)
        if raw:
            try:
                uuid.UUID(raw.strip())
            except ValueError:
                raise ApplicationError(f"{CART_HEADER} must be a UUID.", code="invalid_cart_id") from None
        cart = services.cart_get_or_create_anonymous(cart_id=raw.strip() if raw else None)
        return {"cart_id": cart.pk}

    def cart_response(self, request: Request, cart, *, status_code: int = 200) -> Response:
        response = Response(cart.data, status=status_code)
        if not (request.user and request.user.is_authenticated):
            response[CART_HEADER] = str(cart.pk)
        return response


class CartApi(_CartMixin, APIView):
    """GET /cart/ and DELETE /cart/ (empties it); both answer 200 with the cart."""
    @extend_schema(
        summary="The cart",
        description="The signed-in user's cart, or the anonymous cart of X-Cart-Id (created when missing). "
        "Prices are current; `version` grows by one per change. Live updates: topic `cart:<user_id>`.",
        parameters=[CART_ID_PARAM],
        responses={200: CartOutputSerializer, **_errors(400)},
    )
    def get(self, request: Request) -> Response:
        return self.cart_response(request, services.cart_get(**self.cart_ref(request)))

    @extend_schema(
        summary="Empty the cart",
        parameters=[CART_ID_PARAM],
        request=None,
        responses={200: CartOutputSerializer, **_errors(400)},
    )
    def delete(self, request: Request) -> Response:
        return self.cart_response(request, services.cart_clear(**self.cart_ref(request)))


class CartItemsApi(_CartMixin, APIView):
    """POST /cart/items/ {product_id, quantity}: 200 cart (see ``services.cart_add_item`` for the codes)."""
    @extend_schema(
        summary="Add a product to the cart",
        description="Adds to an existing line. 400 `invalid` (quantity not an integer 1..999), `quantity_limit`, "
        "`product_unavailable` (inactive product or vendor); 404 `product_not_found`; 409 `insufficient_stock` "
        "(body has `available_stock`), `currency_mismatch`, `cart_full`.",
        parameters=[CART_ID_PARAM],
        request=CartItemAddInputSerializer,
        responses={200: CartOutputSerializer, **_errors(400, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        data = CartItemAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_add_item(**self.cart_ref(request), **data.validated_data)
        return self.cart_response(request, cart)


class CartItemDetailApi(_CartMixin, APIView):
    """PATCH /cart/items/{id}/ {quantity} and DELETE /cart/items/{id}/: 200 cart; 404 cart_item_not_found."""
    @extend_schema(
        summary="Set a line's quantity",
        description="404 `cart_item_not_found`; otherwise the same codes as adding.",
        parameters=[CART_ID_PARAM],
        request=CartItemQuantityInputSerializer,
        responses={200: CartOutputSerializer, **_errors(400, 404, 409)},
    )
    def patch(self, request: Request, item_id: uuid.UUID) -> Response:
        data = CartItemQuantityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_set_quantity(**self.cart_ref(request), item_id=item_id, **data.validated_data)
        return self.cart_response(request, cart)

    @extend_schema(
        summary="Remove a line",
        parameters=[CART_ID_PARAM],
        request=None,
        responses={200: CartOutputSerializer, **_errors(400, 404)},
    )
    def delete(self, request: Request, item_id: uuid.UUID) -> Response:
        return self.cart_response(request, services.cart_remove_item(**self.cart_ref(request), item_id=item_id))


__all__ = [
    "BrandListApi", "CartApi", "CartItemDetailApi", "CartItemsApi", "CategoryListApi", "ProductDetailApi",
    "ProductListCreateApi", "VendorActivateApi", "VendorDetailApi", "VendorListCreateApi", "VendorSuspendApi",
]
