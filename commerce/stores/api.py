"""REST views of stores (thin: validate input, call a service or selector, serialize): list and
apply (anyone reads; a signed-in user applies), a store's page and its profile (owners edit),
logo, pickup point, staff and invitations, and admin approval."""

from __future__ import annotations

import uuid

from django.core.files.storage import default_storage
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import User
from core.schema import error_responses

from commerce.common.api import ReadOpenMixin
from commerce.stores import selectors, services, staff
from commerce.stores.models import VendorStatus
from commerce.stores.serializers import (
    InvitationInputSerializer,
    InvitationOutputSerializer,
    InvitationPreviewSerializer,
    InvitationTokenInputSerializer,
    LogoInputSerializer,
    PickupPointInputSerializer,
    PickupPointOutputSerializer,
    StaffMemberOutputSerializer,
    StaffRoleInputSerializer,
    VendorApplyInputSerializer,
    VendorOutputSerializer,
    VendorProfileInputSerializer,
)

USER_ID = OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The member's user id")
INVITATION_ID = OpenApiParameter("invitation_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


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


class VendorDetailApi(ReadOpenMixin, APIView):
    """GET /vendors/{id}/ (200; 404 vendor_not_found when unknown or not visible); PATCH (the
    store's owners, marketplace admins: 200; 400 invalid; 401; 403 forbidden; 404)."""

    @extend_schema(
        summary="A vendor",
        description="The public page (name, description, logo, website, city and country, and the contact details "
        "the store marks public); the store's staff and admins also get its contact, address, tax id, pickup point "
        "and owner.",
        responses={200: VendorOutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        vendor = selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data)

    @extend_schema(
        summary="Edit a store's profile (its owners)",
        description="Any of name, description, contact e-mail and phone (libphonenumber, stored E.164), address "
        "(keys merged; country ISO 3166-1 alpha-2), website, tax id (python-stdnum per country: EU VAT with check "
        "digits), and which contact details are public. 403 `forbidden` for anyone but the store's owners and "
        "marketplace admins; 400 `invalid` naming the field. Publishes `store.updated` on `vendor:<id>`.",
        request=VendorProfileInputSerializer,
        responses={200: VendorOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, vendor_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        data = VendorProfileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vendor = services.vendor_update_profile(vendor_id=vendor_id, actor=request.user, changes=data.validated_data)
        vendor = selectors.vendor_get(user=request.user, vendor_id=vendor.pk)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data)


class VendorLogoApi(APIView):
    """PUT /vendors/{id}/logo/ (multipart ``logo``): 200 vendor; DELETE: 200 vendor."""
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Upload a store's logo (its owners)",
        description="Multipart field `logo`: JPEG, PNG, GIF or WebP by content (not by name), at most "
        "`STORE_LOGO_MAX_BYTES` (2 MiB); re-encoded without metadata, at most `STORE_LOGO_SIDE` (512) pixels per "
        "side, stored through Django's default storage. 400 `invalid_image` / `image_too_large`.",
        request={"multipart/form-data": LogoInputSerializer},
        responses={200: VendorOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def put(self, request: Request, vendor_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        services.vendor_set_logo(vendor_id=vendor_id, actor=request.user, file=request.FILES.get("logo"))
        vendor = selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data)

    @extend_schema(summary="Remove a store's logo (its owners)", request=None,
                   responses={200: VendorOutputSerializer, **error_responses(401, 403, 404)})
    def delete(self, request: Request, vendor_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        services.vendor_remove_logo(vendor_id=vendor_id, actor=request.user)
        vendor = selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        return Response(VendorOutputSerializer(vendor, context=_vendor_ctx(request)).data)


class PickupPointApi(APIView):
    """GET /vendors/{id}/pickup-point/ (the store's staff, admins); PUT (owners, admins)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="A store's pickup point (its staff)",
        description="Where couriers collect its orders. 404 `pickup_point_not_found` when none is set (deliveries "
        "then start at `DELIVERY_DEFAULT_PICKUP`).",
        responses={200: PickupPointOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        return Response(PickupPointOutputSerializer(selectors.pickup_point_get(user=request.user,
                                                                               vendor_id=vendor_id)).data)

    @extend_schema(
        summary="Set a store's pickup point (its owners)",
        description="`latitude` and `longitude` set by hand (decimal degrees), or `from_address: true` to derive "
        "them from the store's address with the marketplace's geocoder (`STORE_GEOCODER`, off by default: 409 "
        "`geocoding_off`); the coordinates then follow after a moment (`store.updated`). New deliveries start "
        "there; existing ones keep their coordinates.",
        request=PickupPointInputSerializer,
        responses={200: PickupPointOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, vendor_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        data = PickupPointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        if args["from_address"]:
            services.pickup_point_from_address(vendor_id=vendor_id, actor=request.user,
                                               description=args.get("description"))
        else:
            services.pickup_point_set(vendor_id=vendor_id, actor=request.user, latitude=args["latitude"],
                                      longitude=args["longitude"], description=args.get("description"))
        point = selectors.pickup_point_get(user=request.user, vendor_id=vendor_id)  # the geocoder may have run
        return Response(PickupPointOutputSerializer(point).data)


class StaffListApi(APIView):
    """GET /vendors/{id}/staff/ (the store's staff, admins)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="A store's staff",
        description="Owners first, then managers and staff. 403 `forbidden` for anyone not on the staff.",
        responses={200: StaffMemberOutputSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        members = selectors.staff_list(user=request.user, vendor_id=vendor_id)
        return Response(StaffMemberOutputSerializer(members, many=True).data)


class StaffMemberApi(APIView):
    """PATCH /vendors/{id}/staff/{user_id}/ change the role (owners); DELETE remove (owners; or
    the member, leaving)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Change a member's role (owners)",
        description="Roles: `owner` (staff, profile, payouts and all below), `manager` (products, orders, returns), "
        "`staff` (orders). 409 `account_holder` (the owner who applied for the store stays an owner) or "
        "`last_owner`.",
        parameters=[USER_ID], request=StaffRoleInputSerializer,
        responses={200: StaffMemberOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, vendor_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        data = StaffRoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = staff.store_staff_set_role(vendor_id=vendor_id, user_id=user_id, role=data.validated_data["role"],
                                            actor=request.user)
        return Response(StaffMemberOutputSerializer(member).data)

    @extend_schema(
        summary="Remove a member (owners) or leave the store",
        description="The member's sockets lose `vendor:<id>` at once (`subscription.revoked`, reason "
        "`removed_from_store`). 409 `account_holder` or `last_owner`.",
        parameters=[USER_ID], request=None,
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, vendor_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        staff.store_staff_remove(vendor_id=vendor_id, user_id=user_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _invitation_body(invitation) -> dict:
    return InvitationOutputSerializer(invitation, context={"now": timezone.now()}).data


class InvitationListCreateApi(APIView):
    """GET /vendors/{id}/invitations/ pending (owners); POST invite (owners: 201)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A store's pending invitations (owners)",
                   responses={200: InvitationOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        invitations = selectors.invitation_list(user=request.user, vendor_id=vendor_id)
        now = timezone.now()
        return Response(InvitationOutputSerializer(invitations, many=True, context={"now": now}).data)

    @extend_schema(
        summary="Invite someone to the staff (owners)",
        description="E-mails a link that expires after `STORE_INVITATION_TTL_HOURS` (72); accepting needs the "
        "account with that e-mail. Inviting the same e-mail again replaces the pending invitation. 409 "
        "`already_staff`, `too_many_invitations`.",
        request=InvitationInputSerializer,
        responses={201: InvitationOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = staff.store_invitation_create(vendor_id=vendor_id, actor=request.user, **data.validated_data)
        return Response(_invitation_body(invitation), status=status.HTTP_201_CREATED)


class InvitationDetailApi(APIView):
    """DELETE /vendors/{id}/invitations/{invitation_id}/ revoke (owners: 200)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Revoke an invitation (owners)", parameters=[INVITATION_ID], request=None,
                   responses={200: InvitationOutputSerializer, **error_responses(401, 403, 404, 409)})
    def delete(self, request: Request, vendor_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
        selectors.vendor_get(user=request.user, vendor_id=vendor_id)
        invitation = staff.store_invitation_revoke(vendor_id=vendor_id, invitation_id=invitation_id, actor=request.user)
        return Response(_invitation_body(invitation))


class InvitationPreviewApi(APIView):
    """POST /store-invitations/preview/ {token}: what the link's page shows (anyone with the link)."""
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Read an invitation by its link's token",
        description="For the page the invitation e-mail links to (the token is in the link's fragment, sent here in "
        "the body, never in a URL). 404 `invitation_not_found`.",
        request=InvitationTokenInputSerializer,
        responses={200: InvitationPreviewSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request) -> Response:
        data = InvitationTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = selectors.invitation_by_token(token=data.validated_data["token"])
        vendor = invitation.vendor
        body = {
            "vendor": {"id": vendor.pk, "name": vendor.name},
            "logo_url": default_storage.url(vendor.logo.name) if vendor.logo else None,
            "email": invitation.email, "role": invitation.role, "status": invitation.status,
            "expires_at": invitation.expires_at, "expired": invitation.expires_at <= timezone.now(),
            "has_account": User.objects.filter(email__iexact=invitation.email).exists(),
        }
        return Response(InvitationPreviewSerializer(body).data)


class InvitationAcceptApi(APIView):
    """POST /store-invitations/accept/ {token}: join the staff (the invited account)."""
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Accept an invitation",
        description="Signed in with the invited e-mail's account. 403 `invitation_email_mismatch`; 404 "
        "`invitation_not_found`; 409 `invalid_transition` (used or revoked), `already_staff`; 410 "
        "`invitation_expired`.",
        request=InvitationTokenInputSerializer,
        responses={200: StaffMemberOutputSerializer, **error_responses(400, 401, 403, 404, 409),
                   410: OpenApiResponse(description="The invitation expired (`invitation_expired`)")},
    )
    def post(self, request: Request) -> Response:
        data = InvitationTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = staff.store_invitation_accept(token=data.validated_data["token"], user=request.user)
        return Response(StaffMemberOutputSerializer(member).data)


class InvitationDeclineApi(APIView):
    """POST /store-invitations/decline/ {token} (anyone with the link: 204)."""
    permission_classes = [AllowAny]

    @extend_schema(summary="Decline an invitation", request=InvitationTokenInputSerializer,
                   responses={204: None, **error_responses(400, 404, 409)})
    def post(self, request: Request) -> Response:
        data = InvitationTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff.store_invitation_decline(token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


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
