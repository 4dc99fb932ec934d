"""Reads of the stores room: which stores a user may see. Who acts for which store is
``commerce.stores.permissions`` (``is_store_staff``, ``store_ids_of``)."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from core.exceptions import NotFound
from core.permissions import is_active_user, is_marketplace_admin

from commerce.stores.models import Vendor, VendorStatus
from commerce.stores.permissions import store_ids_of


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
