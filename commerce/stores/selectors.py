"""Reads of the stores room: which stores a user may see, a store's body (public or as its staff
see it), its staff and invitations, and its pickup point. Who acts for which store is
``commerce.stores.permissions`` (``is_store_staff``, ``store_ids_of``)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.db.models import Q, QuerySet

from core.exceptions import Forbidden, NotFound
from core.permissions import is_active_user, is_marketplace_admin

from commerce.stores.models import InvitationStatus, PickupPoint, StoreInvitation, Vendor, VendorStaff, VendorStatus
from commerce.stores.permissions import (
    can_manage_store,
    can_manage_store_staff,
    can_view_store_staff,
    is_store_staff,
    store_ids_of,
)
from commerce.stores.serializers import VendorOutputSerializer


def vendor_private_ids(user) -> set[uuid.UUID] | str:
    """The stores whose private fields (``owner_id``) ``user`` may see: ``"all"`` for marketplace
    admins and staff, else the ids of the stores they are staff of (empty when anonymous)."""
    if is_marketplace_admin(user):
        return "all"
    return set(store_ids_of(user))


def vendor_list(*, user) -> QuerySet[Vendor]:
    """Vendors ``user`` may see: active ones; plus, for a signed-in user, the ones they are staff
    of; marketplace admins see all."""
    qs = Vendor.objects.select_related("owner", "pickup_point")
    if is_marketplace_admin(user):
        return qs
    if is_active_user(user):
        return qs.filter(Q(status=VendorStatus.ACTIVE) | Q(memberships__user=user)).distinct()
    return qs.filter(status=VendorStatus.ACTIVE)


def vendor_get(*, user, vendor_id: uuid.UUID) -> Vendor:
    """The vendor if ``user`` may see it (see :func:`vendor_list`). Raises ``NotFound``
    (``vendor_not_found``)."""
    vendor = vendor_list(user=user).filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFound("Vendor not found.", code="vendor_not_found")
    return vendor


def vendor_get_managed(*, user, vendor_id) -> Vendor:
    """The vendor ``vendor_id`` for a change of its selling settings (shipping, tax) by
    ``user``. Raises ``NotFound`` ``vendor_not_found`` when it does not exist or ``user`` is
    neither its staff nor a marketplace admin (no hint it exists), ``Forbidden``
    ``store_settings_not_allowed`` for its staff who are not owners or managers
    (``commerce.stores.permissions.can_manage_store``)."""
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None or not (is_marketplace_admin(user) or is_store_staff(user, vendor)):
        raise NotFound("Vendor not found.", code="vendor_not_found")
    if not can_manage_store(user, vendor):
        raise Forbidden("Only the store's owners and managers change its settings.", code="store_settings_not_allowed")
    return vendor


def vendor_data(vendor: Vendor, *, private: bool) -> dict[str, Any]:
    """The body of ``vendor`` (``VendorOutputSerializer``): with ``private``, as its staff and
    marketplace admins see it (contact, full address, tax identifier, pickup point, owner);
    otherwise the public page."""
    context = {"private_vendor_ids": "all" if private else ()}
    return VendorOutputSerializer(vendor, context=context).data


def pickup_coordinates(*, vendor_id: Any) -> tuple[float, float] | None:
    """``(latitude, longitude)`` of the store's pickup point (decimal degrees), or None when it
    has none yet (or a point derived from the address still waits for the geocoder). What
    delivery copies into a new delivery attempt and shipping measures courier fees from."""
    point = PickupPoint.objects.filter(vendor_id=vendor_id).only("latitude", "longitude").first()
    return point.coordinates if point is not None else None


def pickup_point_get(*, user, vendor_id: uuid.UUID) -> PickupPoint:
    """A store's pickup point, for its staff and marketplace admins. Raises ``NotFound``
    (``vendor_not_found``; ``pickup_point_not_found`` when it has none) and ``Forbidden``
    (``forbidden``)."""
    vendor = vendor_get(user=user, vendor_id=vendor_id)
    if not can_view_store_staff(user, vendor):
        raise Forbidden("Only the store's staff see its pickup point.", code="forbidden")
    point = PickupPoint.objects.filter(vendor=vendor).first()
    if point is None:
        raise NotFound("This store has no pickup point yet.", code="pickup_point_not_found")
    return point


def staff_list(*, user, vendor_id: uuid.UUID) -> list[VendorStaff]:
    """The members of a store (owners first, then managers, then staff; by joining date), for
    its staff and marketplace admins. Raises ``NotFound`` (``vendor_not_found``) when ``user``
    may not see the store at all and ``Forbidden`` (``forbidden``) when they see it but are not
    on its staff."""
    vendor = vendor_get(user=user, vendor_id=vendor_id)
    if not can_view_store_staff(user, vendor):
        raise Forbidden("Only the store's staff see its members.", code="forbidden")
    order = {"owner": 0, "manager": 1, "staff": 2}
    members = list(VendorStaff.objects.filter(vendor=vendor).select_related("user", "vendor"))
    return sorted(members, key=lambda m: (order.get(m.role, 9), m.created_at, m.pk))


def invitation_list(*, user, vendor_id: uuid.UUID) -> QuerySet[StoreInvitation]:
    """A store's pending invitations, newest first, for those who manage its staff (its owners,
    marketplace admins). Expired ones are included (``expires_at`` tells). Raises ``NotFound``
    (``vendor_not_found``) and ``Forbidden`` (``forbidden``)."""
    vendor = vendor_get(user=user, vendor_id=vendor_id)
    if not can_manage_store_staff(user, vendor):
        raise Forbidden("Only the store's owners manage its staff.", code="forbidden")
    return (StoreInvitation.objects.filter(vendor=vendor, status=InvitationStatus.PENDING)
            .select_related("vendor", "invited_by").order_by("-created_at", "pk"))


def invitation_token_hash(token: str) -> str:
    """The SHA-256 (hex) under which an invitation token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(*, token: Any) -> StoreInvitation:
    """The invitation a link's ``token`` belongs to (any status). Raises ``NotFound``
    (``invitation_not_found``) for an unknown or malformed token."""
    if not isinstance(token, str) or not 16 <= len(token) <= 128:
        raise NotFound("This invitation link is not valid.", code="invitation_not_found")
    invitation = (StoreInvitation.objects.select_related("vendor", "invited_by")
                  .filter(token_hash=invitation_token_hash(token)).first())
    if invitation is None:
        raise NotFound("This invitation link is not valid.", code="invitation_not_found")
    return invitation
