"""Stores: a vendor (store) with its life cycle, and the people who act for it.

A :class:`Vendor` is created ``pending`` by the user who applies (its owner) and moves along
:data:`VENDOR_TRANSITIONS` (``commerce.stores.services`` is the one owner of that map). Its staff
are :class:`VendorStaff` rows (the owner is one, role ``owner``). Table names stay
``commerce_*``: the rooms of ``commerce`` share one app label.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fsm import StateMachine


class VendorStatus(models.TextChoices):
    """Life cycle of a store: ``pending -> active -> suspended`` (and back to ``active``)."""

    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


#: allowed status transitions {from: {to, ...}}; anything else is ``invalid_transition`` (409)
VENDOR_TRANSITIONS: dict[str, frozenset[str]] = {
    VendorStatus.PENDING: frozenset({VendorStatus.ACTIVE}),
    VendorStatus.ACTIVE: frozenset({VendorStatus.SUSPENDED}),
    VendorStatus.SUSPENDED: frozenset({VendorStatus.ACTIVE}),
}

#: the vendor's state machine (``core.fsm``); only ``commerce.stores.services`` moves it
VENDOR_MACHINE = StateMachine("vendor", VENDOR_TRANSITIONS)


class Vendor(models.Model):
    """A store. Created ``pending`` by the user who applies (its owner); an admin activates or
    suspends it. Only an ``active`` vendor's products are public and purchasable. People who act
    for the store are its :class:`VendorStaff` (the owner is one of them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=VendorStatus.choices, default=VendorStatus.PENDING)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_vendors")
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="VendorStaff", related_name="vendors", blank=True
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["status"], name="commerce_vendor_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in VendorStatus]), name="commerce_vendor_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == VendorStatus.ACTIVE

    def can_transition_to(self, status: str) -> bool:
        """True when ``VENDOR_TRANSITIONS`` allows ``self.status -> status``."""
        return VENDOR_MACHINE.can(self.status, status)


class VendorStaffRole(models.TextChoices):
    OWNER = "owner", "Owner"
    STAFF = "staff", "Staff"


class VendorStaff(models.Model):
    """Membership of a user in a store's staff (the owner has role ``owner``)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships")
    role = models.CharField(max_length=16, choices=VendorStaffRole.choices, default=VendorStaffRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "vendor staff"
        constraints = [models.UniqueConstraint(fields=["vendor", "user"], name="commerce_vendorstaff_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor.name} ({self.role})"
