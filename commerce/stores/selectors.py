"""Reads of the stores room: who acts for which store, and which stores a user may see.

``vendor_ids_for_user`` is the question every other room and app asks ("is this user staff of
that store?"): a store's staff see its orders, chats, auctions and deliveries."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from core.exceptions import NotFound
from core.models import is_staff_or_admin

from commerce.stores.models import Vendor, VendorStaff, VendorStatus


def vendor_ids_for_user(user, *, active_only: bool = False) -> list[uuid.UUID]:
    """Ids of the vendors ``user`` is staff of (owner included), any status unless
    ``active_only``. Empty for anonymous users. For other apps: a vendor's staff see its orders,
    chats, auctions (``Order.objects.filter(vendor_id__in=vendor_ids_for_user(user))``)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    qs = VendorStaff.objects.filter(user=user)
    if active_only:
        qs = qs.filter(vendor__status=VendorStatus.ACTIVE)
    return list(qs.order_by("vendor_id").values_list("vendor_id", flat=True))


def user_is_vendor_staff(*, user, vendor_id: uuid.UUID, active_only: bool = False) -> bool:
    """True when ``user`` is staff (or owner) of vendor ``vendor_id``."""
    return vendor_id in set(vendor_ids_for_user(user, active_only=active_only))


def vendor_private_ids(user) -> set[uuid.UUID] | str:
    """The stores whose private fields (``owner_id``) ``user`` may see: ``"all"`` for marketplace
    admins and staff, else the ids of the stores they are staff of (empty when anonymous)."""
    if user is not None and getattr(user, "is_authenticated", False) and is_staff_or_admin(user):
        return "all"
    return set(vendor_ids_for_user(user))


def vendor_list(*, user) -> QuerySet[Vendor]:
    """Vendors ``user`` may see: active ones; plus, for a signed-in user, the ones they are staff
    of; admins see all."""
    qs = Vendor.objects.select_related("owner")
    if user is not None and getattr(user, "is_authenticated", False):
        if user.is_admin:
            return qs
        return qs.filter(Q(status=VendorStatus.ACTIVE) | Q(memberships__user=user)).distinct()
    return qs.filter(status=VendorStatus.ACTIVE)


def vendor_get(*, user, vendor_id: uuid.UUID) -> Vendor:
    """The vendor if ``user`` may see it (see :func:`vendor_list`). Raises ``NotFound``
    (``vendor_not_found``)."""
    vendor = vendor_list(user=user).filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFound("Vendor not found.", code="vendor_not_found")
    return vendor
