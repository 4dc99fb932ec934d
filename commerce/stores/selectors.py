"""Reads of the stores room: which stores a user may see. Who acts for which store is
``commerce.stores.permissions`` (``is_store_staff``, ``store_ids_of``)."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from core.exceptions import Forbidden, NotFound
from core.permissions import is_active_user, is_marketplace_admin

from commerce.stores.models import Vendor, VendorStatus
from commerce.stores.permissions import can_manage_store, is_store_staff, store_ids_of


def vendor_private_ids(user) -> set[uuid.UUID] | str:
    """The stores whose private fields (``owner_id``) ``user`` may see: ``"all"`` for marketplace
    admins and staff, else the ids of the stores they are staff of (empty when anonymous)."""
    if is_marketplace_admin(user):
        return "all"
    return set(store_ids_of(user))


def vendor_list(*, user) -> QuerySet[Vendor]:
    """Vendors ``user`` may see: active ones; plus, for a signed-in user, the ones they are staff
    of; marketplace admins see all."""
    qs = Vendor.objects.select_related("owner")
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
