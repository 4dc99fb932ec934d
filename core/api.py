"""REST views of accounts (thin: validate input, call a service or selector, serialize output).

Routes (under ``/api/v1/``, see ``core.api_urls``):

==========================================  =========================================================
``POST auth/register/``                     201 account; 400 ``email_taken`` / ``invalid``
``POST auth/token/``                        200 ``{access, refresh}``; 401 ``invalid_credentials``
``POST auth/token/refresh/``                200 ``{access, refresh}``; 401 ``token_blacklisted`` /
                                            ``token_not_valid``
``POST auth/logout/``                       204; 400 ``token_not_valid``; 403 ``token_not_owned``
``POST auth/password-reset/``               204 always (no account enumeration)
``POST auth/password-reset/confirm/``       204; 400 ``invalid_token`` / ``invalid``
``GET|PATCH me/``                           the signed-in account
``GET|POST me/addresses/``                  the user's addresses (unpaginated, at most 50)
``GET|PUT|PATCH|DELETE me/addresses/<id>/`` one address; 404 ``address_not_found`` for others'
==========================================  =========================================================

Every refusal is ``{"code", "detail", "fields"?}`` (``core.exceptions``); throttled requests get
429 ``throttled``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors, services
from core.serializers import (
    AccountOutputSerializer,
    AddressInputSerializer,
    AddressOutputSerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    RegisterInputSerializer,
    TokenObtainInputSerializer,
    TokenPairOutputSerializer,
    TokenRefreshInputSerializer,
)
from core.schema import error_responses
from core.throttles import AuthRateThrottle, PasswordResetEmailRateThrottle, PasswordResetRateThrottle

class _PublicApi(APIView):
    """No authentication (a stale ``Authorization`` header must not block sign-in) and open to all."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


# --- registration and tokens --------------------------------------------------------------------


class RegisterApi(_PublicApi):
    """``POST auth/register/`` ``{email, password, display_name?}`` -> 201 account. Raises
    ``email_taken`` / ``invalid`` (400); throttled by scope ``auth``."""

    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        operation_id="auth_register",
        tags=["accounts"],
        summary="Create a buyer account",
        request=RegisterInputSerializer,
        responses={
            201: AccountOutputSerializer,
            **error_responses(400, 429, e400="`email_taken`, or `invalid` (e.g. a password failing the validators)"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(AccountOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(_PublicApi):
    """``POST auth/token/`` ``{email, password}`` -> ``{access, refresh}``; 401 ``invalid_credentials``.
    Sends ``core.signals.user_signed_in`` after success; throttled by scope ``auth``."""

    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        operation_id="auth_token_obtain",
        tags=["accounts"],
        summary="Sign in: get an access and a refresh token",
        description="The email is compared case-insensitively. After a successful sign-in the "
        "`core.signals.user_signed_in` signal is sent (commerce merges the anonymous cart of the "
        "`X-Cart-Id` header).",
        request=TokenObtainInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            **error_responses(400, 401, 429, e401="`invalid_credentials`: unknown email, wrong password or inactive account"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.auth_sign_in(**serializer.validated_data, request=request)
        return Response(TokenPairOutputSerializer(pair).data)


class TokenRefreshApi(_PublicApi):
    """``POST auth/token/refresh/`` ``{refresh}`` -> ``{access, refresh}`` (rotation); 401
    ``token_blacklisted`` / ``token_not_valid``; throttled by scope ``auth``."""

    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        operation_id="auth_token_refresh",
        tags=["accounts"],
        summary="Exchange a refresh token for a new pair (rotation)",
        description="The refresh token sent is blacklisted; use the returned one next time.",
        request=TokenRefreshInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            **error_responses(
                400,
                401,
                429,
                e401="`token_blacklisted` (already used or logged out) or `token_not_valid` "
                "(malformed, forged, expired, wrong type, inactive user)",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.auth_refresh(refresh=serializer.validated_data["refresh"])
        return Response(TokenPairOutputSerializer(pair).data)


class LogoutApi(APIView):
    """``POST auth/logout/`` ``{refresh}`` (with the session's Bearer access token) -> 204; 400
    ``token_not_valid``, 403 ``token_not_owned``, 401 without a valid access token."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        tags=["accounts"],
        summary="Sign out this session",
        description="Blacklists the refresh token, revokes the access token of this request and "
        "closes the user's WebSockets with 4401.",
        request=LogoutInputSerializer,
        responses={
            204: OpenApiResponse(description="Signed out"),
            **error_responses(
                400,
                401,
                403,
                e400="`token_not_valid` (malformed, expired or not a refresh token) or `invalid`",
                e403="`token_not_owned`: the refresh token belongs to another user",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(user=request.user, refresh=serializer.validated_data["refresh"], access_token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- password reset -----------------------------------------------------------------------------


class PasswordResetApi(_PublicApi):
    """``POST auth/password-reset/`` ``{email}`` -> 204 always; throttled by scope ``password_reset``
    per client address and per email."""

    throttle_classes = [PasswordResetRateThrottle, PasswordResetEmailRateThrottle]

    @extend_schema(
        operation_id="auth_password_reset",
        tags=["accounts"],
        summary="Email a password-reset link",
        description="Always 204, whether or not an account has this email. The link carries `uid` "
        "and `token` for the confirm endpoint.",
        request=PasswordResetInputSerializer,
        responses={204: OpenApiResponse(description="Accepted"), **error_responses(400, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetConfirmApi(_PublicApi):
    """``POST auth/password-reset/confirm/`` ``{uid, token, new_password}`` -> 204; 400
    ``invalid_token`` / ``invalid``; throttled by scope ``auth``."""

    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        tags=["accounts"],
        summary="Set a new password with the emailed link",
        description="Signs the user out everywhere (refresh tokens blacklisted, sockets closed).",
        request=PasswordResetConfirmInputSerializer,
        responses={
            204: OpenApiResponse(description="Password changed"),
            **error_responses(400, 429, e400="`invalid_token` (malformed, expired or used link) or `invalid` (weak password)"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- profile ------------------------------------------------------------------------------------


class MeApi(APIView):
    """``GET me/`` -> account; ``PATCH me/`` ``{display_name?, phone?}`` -> account (400 ``invalid``)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve",
        tags=["accounts"],
        summary="The signed-in account",
        responses={200: AccountOutputSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(AccountOutputSerializer(request.user).data)

    @extend_schema(
        operation_id="me_partial_update",
        tags=["accounts"],
        summary="Edit display name and phone",
        description="`email` and `roles` are read-only and ignored when sent.",
        request=MeUpdateInputSerializer,
        responses={200: AccountOutputSerializer, **error_responses(400, 401)},
    )
    def patch(self, request: Request) -> Response:
        serializer = MeUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, data=serializer.validated_data)
        return Response(AccountOutputSerializer(user).data)


# --- addresses ----------------------------------------------------------------------------------

_ADDRESS_ID = OpenApiParameter("address_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Address id")


class AddressListCreateApi(APIView):
    """``GET me/addresses/`` -> list of the user's addresses; ``POST`` -> 201 address (400
    ``invalid`` / ``address_limit_reached``)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_addresses_list",
        tags=["addresses"],
        summary="My saved addresses (oldest first, not paginated)",
        responses={200: AddressOutputSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        addresses = selectors.address_list(user=request.user)
        return Response(AddressOutputSerializer(addresses, many=True).data)

    @extend_schema(
        operation_id="me_addresses_create",
        tags=["addresses"],
        summary="Save an address",
        description="Setting `is_default_shipping` / `is_default_billing` clears it on the other addresses.",
        request=AddressInputSerializer,
        responses={
            201: AddressOutputSerializer,
            **error_responses(400, 401, e400="`invalid` with `fields`, or `address_limit_reached`"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_create(user=request.user, data=serializer.validated_data)
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(APIView):
    """``GET|PUT|PATCH|DELETE me/addresses/<address_id>/`` on one of the user's addresses; 404
    ``address_not_found`` for a malformed id, an unknown one or another user's."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_addresses_retrieve",
        tags=["addresses"],
        summary="One of my addresses",
        parameters=[_ADDRESS_ID],
        responses={200: AddressOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, address_id: str) -> Response:
        address = selectors.address_get(user=request.user, address_id=address_id)
        return Response(AddressOutputSerializer(address).data)

    def _update(self, request: Request, address_id: str, *, partial: bool) -> Response:
        address = selectors.address_get(user=request.user, address_id=address_id)
        serializer = AddressInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        address = services.address_update(address=address, data=serializer.validated_data)
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(
        operation_id="me_addresses_update",
        tags=["addresses"],
        summary="Replace one of my addresses",
        parameters=[_ADDRESS_ID],
        request=AddressInputSerializer,
        responses={200: AddressOutputSerializer, **error_responses(400, 401, 404)},
    )
    def put(self, request: Request, address_id: str) -> Response:
        return self._update(request, address_id, partial=False)

    @extend_schema(
        operation_id="me_addresses_partial_update",
        tags=["addresses"],
        summary="Change one of my addresses",
        parameters=[_ADDRESS_ID],
        request=AddressInputSerializer(partial=True),
        responses={200: AddressOutputSerializer, **error_responses(400, 401, 404)},
    )
    def patch(self, request: Request, address_id: str) -> Response:
        return self._update(request, address_id, partial=True)

    @extend_schema(
        operation_id="me_addresses_destroy",
        tags=["addresses"],
        summary="Delete one of my addresses",
        parameters=[_ADDRESS_ID],
        responses={204: OpenApiResponse(description="Deleted"), **error_responses(401, 404)},
    )
    def delete(self, request: Request, address_id: str) -> Response:
        address = selectors.address_get(user=request.user, address_id=address_id)
        services.address_delete(address=address)
        return Response(status=status.HTTP_204_NO_CONTENT)
