"""Permission predicates of the stores room: who acts for which store.

Style of the whole vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users (``core.permissions.is_active_user``). ``vendor`` may be a :class:`Vendor` or its id
(callers often hold only ``order.vendor_id``). :func:`store_ids_of` is the list form of
:func:`is_store_staff`, for queries over many objects
(``Order.objects.filter(vendor_id__in=store_ids_of(user))``).
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from core.permissions import is_active_user, is_marketplace_admin

from commerce.stores.models import Vendor, VendorStaff, VendorStatus


def _vendor_id(vendor: Vendor | uuid.UUID | str | None) -> Any:
    return vendor.pk if isinstance(vendor, Vendor) else vendor


def store_ids_of(user, *, active_only: bool = False, roles: Iterable[str] | None = None) -> list[uuid.UUID]:
    """Ids of the stores ``user`` is staff of (the owner included), sorted: one query. Only
    ``active`` stores with ``active_only``; only memberships with one of ``roles``
    (``VendorStaffRole``: ``owner``, ``staff``) when given. Empty for anonymous and inactive
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
    """True when ``user`` works for ``vendor`` (a :class:`VendorStaff` row; the owner has one
    with role ``owner``), with one of ``roles`` when given; only while the store is ``active``
    with ``active_only``. One query."""
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
    """True when ``user`` owns ``vendor`` (``Vendor.owner``, who applied for it). No query for a
    :class:`Vendor` instance; one for an id."""
    if not is_active_user(user) or vendor is None:
        return False
    owner_id = vendor.owner_id if isinstance(vendor, Vendor) else (
        Vendor.objects.filter(pk=vendor).values_list("owner_id", flat=True).first())
    return owner_id == user.pk


def can_manage_store_staff(user, vendor) -> bool:
    """Who adds people to a store's staff: its owner, or a marketplace admin."""
    return is_marketplace_admin(user) or is_store_owner(user, vendor)


def can_set_store_status(user, vendor=None) -> bool:
    """Who activates and suspends stores: marketplace admins (any store)."""
    return is_marketplace_admin(user)


#: the staff roles that manage a store's settings (shipping methods, tax settings); ``manager``
#: is the role issue 18 §1 adds between ``owner`` and ``staff``
STORE_MANAGER_ROLES = ("owner", "manager")


def can_manage_store(user, vendor) -> bool:
    """Who changes a store's selling settings (shipping methods and zones, tax settings): its
    owners and managers, or a marketplace admin. One query at most."""
    return is_marketplace_admin(user) or is_store_staff(user, vendor, roles=STORE_MANAGER_ROLES)
