"""REST views of the cart (thin). The cart works for anonymous users through the ``X-Cart-Id``
header; see ``commerce.cart.services`` for the codes."""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.permissions import is_active_user
from core.schema import error_responses

from commerce.cart import services
from commerce.cart.serializers import CartItemAddInputSerializer, CartItemQuantityInputSerializer, CartOutputSerializer


CART_HEADER = "X-Cart-Id"

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
        if is_active_user(request.user):
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
        if not is_active_user(request.user):
            response[CART_HEADER] = str(cart.pk)
        return response


class CartApi(_CartMixin, APIView):
    """GET /cart/ and DELETE /cart/ (empties it); both answer 200 with the cart."""
    @extend_schema(
        summary="The cart",
        description="The signed-in user's cart, or the anonymous cart of X-Cart-Id (created when missing). "
        "Prices are current; `version` grows by one per change. Live updates: topic `cart:<user_id>`.",
        parameters=[CART_ID_PARAM],
        responses={200: CartOutputSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        return self.cart_response(request, services.cart_get(**self.cart_ref(request)))

    @extend_schema(
        summary="Empty the cart",
        parameters=[CART_ID_PARAM],
        request=None,
        responses={200: CartOutputSerializer, **error_responses(400)},
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
        responses={200: CartOutputSerializer, **error_responses(400, 404, 409)},
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
        responses={200: CartOutputSerializer, **error_responses(400, 404, 409)},
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
        responses={200: CartOutputSerializer, **error_responses(400, 404)},
    )
    def delete(self, request: Request, item_id: uuid.UUID) -> Response:
        return self.cart_response(request, services.cart_remove_item(**self.cart_ref(request), item_id=item_id))
