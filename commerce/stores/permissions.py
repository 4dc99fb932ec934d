"""Permission predicates of the stores room: who acts for which store.

Style of the whole vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users (``core.permissions.is_active_user``). ``vendor`` may be a :class:`Vendor` or its id
(callers often hold only ``order.vendor_id``). :func:`store_ids_of` is the list form of
:func:`is_store_staff`, for queries over many objects
(``Order.objects.filter(vendor_id__in=store_ids_of(user))``).

Roles (``VendorStaffRole``; issue 18): only **owners** manage the staff, the profile and the
payouts; **managers** also manage products (the catalogue import too), orders, returns and the
selling settings (shipping, tax); **staff** handle orders. The role
sets below are what the predicates pass, so a room above that needs the same answer asks
``is_store_staff(user, vendor, roles=MANAGING_ROLES)`` rather than naming roles itself.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from core.permissions import is_active_user, is_marketplace_admin

from commerce.stores.models import Vendor, VendorStaff, VendorStaffRole, VendorStatus

#: roles that manage the store itself: its staff, profile and payouts
OWNER_ROLES: tuple[str, ...] = (VendorStaffRole.OWNER,)
#: roles that manage the catalogue, orders and returns
MANAGING_ROLES: tuple[str, ...] = (VendorStaffRole.OWNER, VendorStaffRole.MANAGER)
#: every role: all staff handle orders
ALL_ROLES: tuple[str, ...] = (VendorStaffRole.OWNER, VendorStaffRole.MANAGER, VendorStaffRole.STAFF)


def _vendor_id(vendor: Vendor | uuid.UUID | str | None) -> Any:
    return vendor.pk if isinstance(vendor, Vendor) else vendor


def store_ids_of(user, *, active_only: bool = False, roles: Iterable[str] | None = None) -> list[uuid.UUID]:
    """Ids of the stores ``user`` is staff of (the owner included), sorted: one query. Only
    ``active`` stores with ``active_only``; only memberships with one of ``roles``
    (``VendorStaffRole``: ``owner``, ``manager``, ``staff``) when given. Empty for anonymous and inactive
    users."""
    if not is_active_user(user):
        return []
    qs = VendorStaff.objects.filter(user=user)
    if active_only:
        qs = qs.filter(vendor__status=VendorStatus.ACTIVE)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    return list(qs.order_by("vendor_id").values_list("vendor_id", flat=True))


def is_store_staff(user, vendor, *, active_only: bool = False, roles: Iterable[str] | None = None) -> bool:
    """True when ``user`` works for ``vendor`` (a :class:`VendorStaff` row; the account holder
    has one with role ``owner``), with one of ``roles`` when given; only while the store is
    ``active`` with ``active_only``. One query."""
    vid = _vendor_id(vendor)
    if vid is None or not is_active_user(user):
        return False
    qs = VendorStaff.objects.filter(vendor_id=vid, user=user)
    if active_only:
        qs = qs.filter(vendor__status=VendorStatus.ACTIVE)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    return qs.exists()


def is_store_owner(user, vendor) -> bool:
    """True when ``user`` is an owner of ``vendor``: a membership with role ``owner`` (the
    account holder who applied for the store, and anyone invited or promoted to ``owner``). One
    query."""
    return is_store_staff(user, vendor, roles=OWNER_ROLES)


def can_manage_store_staff(user, vendor) -> bool:
    """Who invites, promotes and removes a store's staff: its owners, or a marketplace admin."""
    return is_marketplace_admin(user) or is_store_owner(user, vendor)


def can_edit_store_profile(user, vendor) -> bool:
    """Who edits a store's profile, logo and pickup point: its owners, or a marketplace admin
    (moderation: an offensive name or logo)."""
    return is_marketplace_admin(user) or is_store_owner(user, vendor)


def can_view_store_staff(user, vendor) -> bool:
    """Who lists a store's staff: anyone on it (any role), or a marketplace admin."""
    return is_marketplace_admin(user) or is_store_staff(user, vendor)


def can_manage_products(user, vendor) -> bool:
    """Who creates, changes and deletes a store's products: its owners and managers, while the
    store is ``active``. (Marketplace admins moderate products through the admin site.)"""
    return is_store_staff(user, vendor, active_only=True, roles=MANAGING_ROLES)


def can_manage_payouts(user, vendor) -> bool:
    """Who sets a store's bank details and withdraws its earnings: its owners only (not a
    marketplace admin, who verifies and pays: ``commerce.payouts.permissions``)."""
    return is_store_owner(user, vendor)


def can_set_store_status(user, vendor=None) -> bool:
    """Who activates and suspends stores: marketplace admins (any store)."""
    return is_marketplace_admin(user)


def can_manage_store(user, vendor) -> bool:
    """Who changes a store's selling settings (shipping methods and zones, tax settings) and
    reads its catalogue imports and exports: its owners and managers (:data:`MANAGING_ROLES`), or
    a marketplace admin. One query at most."""
    return is_marketplace_admin(user) or is_store_staff(user, vendor, roles=MANAGING_ROLES)
