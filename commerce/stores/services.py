"""Stores: a vendor's life cycle (apply, activate, suspend) and its staff.

Every function is keyword-only and transactional; refusals raise ``core.exceptions``
errors with stable codes. Lock order: **vendor -> products (pk order) -> carts (pk order)**; a
status change locks the vendor and sends ``vendor_status_changed`` under that lock.
"""

from __future__ import annotations

import uuid
from typing import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import Conflict, Forbidden, NotFound
from core.models import Role
from core.permissions import is_active_user

from commerce.common.validation import as_uuid, invalid, unique_slug
from commerce.stores.models import VENDOR_MACHINE, Vendor, VendorStaff, VendorStaffRole, VendorStatus
from commerce.stores.permissions import can_manage_store_staff, can_set_store_status
from commerce.stores.signals import vendor_status_changed


def vendor_apply(*, user, name: str, description: str = "") -> Vendor:
    """``user`` applies to open a store called ``name``: a ``pending`` Vendor owned by ``user``
    (also its first staff member, role ``owner``). The slug is derived from the name.

    Raises ``Forbidden`` for an anonymous user, ``ApplicationError`` (``invalid``) for an empty
    name and ``Conflict`` (``application_pending``) when the user already has a pending store.
    """
    if not is_active_user(user):
        raise Forbidden("Sign in to apply as a vendor.", code="not_authenticated")
    name = (name or "").strip()
    if not name:
        raise invalid("name", "This field may not be blank.")
    with transaction.atomic():
        if Vendor.objects.filter(owner=user, status=VendorStatus.PENDING).exists():
            raise Conflict("You already have a store waiting for approval.", code="application_pending")
        for _ in range(3):
            slug = unique_slug(Vendor, name, max_length=140)
            try:
                with transaction.atomic():
                    vendor = Vendor.objects.create(name=name, slug=slug, description=description or "", owner=user)
                break
            except IntegrityError:  # a concurrent application took the slug: try the next one
                continue
        else:
            raise Conflict("Could not allocate a unique slug; try another name.", code="slug_taken")
        VendorStaff.objects.create(vendor=vendor, user=user, role=VendorStaffRole.OWNER)
    return vendor


def _grant_vendor_role(users: Iterable) -> None:
    for u in users:
        if Role.VENDOR not in (u.roles or []):
            u.roles = [*(u.roles or []), Role.VENDOR]
            u.save(update_fields=["roles"])


def vendor_set_status(*, vendor_id: uuid.UUID, status: str, actor) -> Vendor:
    """Move vendor ``vendor_id`` to ``status`` following ``VENDOR_TRANSITIONS``
    (pending -> active, active -> suspended, suspended -> active). Admins only.

    Activation gives the ``vendor`` role to the owner and staff. Any change sends
    ``vendor_status_changed`` (the catalogue then refreshes every cart holding one of the vendor's
    products: version bump + ``cart.updated``, since their availability changed).

    Raises ``Forbidden`` (``forbidden``) unless ``actor`` is a marketplace admin
    (``commerce.stores.permissions.can_set_store_status``), ``NotFound`` (``vendor_not_found``),
    ``core.fsm.InvalidTransition`` (409 ``invalid_transition`` with ``from``, ``to``, ``allowed``).
    """
    if not can_set_store_status(actor):
        raise Forbidden("Only an administrator may change a vendor's status.", code="forbidden")
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound("Vendor not found.", code="vendor_not_found")
        allowed = VENDOR_MACHINE.allowed(vendor.status)
        VENDOR_MACHINE.check(vendor.status, status, detail=f"A {vendor.status} vendor cannot become {status}"
                             + (f" (allowed: {', '.join(allowed)})." if allowed else "."))
        from_status = vendor.status
        vendor.status = status
        vendor.status_changed_at = timezone.now()
        vendor.save(update_fields=["status", "status_changed_at", "updated_at"])
        if status == VendorStatus.ACTIVE:
            _grant_vendor_role(vendor.staff.all())
        vendor_status_changed.send(sender=Vendor, vendor=vendor, from_status=from_status, to_status=status,
                                   actor=actor)
    return vendor


def vendor_staff_add(*, vendor_id: uuid.UUID, user, actor, role: str = VendorStaffRole.STAFF) -> VendorStaff:
    """Add ``user`` to the staff of vendor ``vendor_id`` (idempotent). Allowed to the vendor's
    owner and marketplace admins (``commerce.stores.permissions.can_manage_store_staff``). Staff
    of an active vendor get the ``vendor`` role.

    Raises ``NotFound`` (``vendor_not_found``) and ``Forbidden`` (``forbidden``).
    """
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound("Vendor not found.", code="vendor_not_found")
        if not can_manage_store_staff(actor, vendor):
            raise Forbidden("Only the store owner or an administrator may add staff.", code="forbidden")
        membership, _ = VendorStaff.objects.get_or_create(vendor=vendor, user=user, defaults={"role": role})
        if vendor.status == VendorStatus.ACTIVE:
            _grant_vendor_role([user])
    return membership
