"""Stores: a vendor (store) with its profile and life cycle, its pickup point, and the people
who act for it.

A :class:`Vendor` is created ``pending`` by the user who applies (its owner, the *account
holder*: the store's earnings are paid into that user's wallet) and moves along
:data:`VENDOR_TRANSITIONS` (``commerce.stores.services`` is the one owner of that map). Its
profile (contact, address, website, tax identifier, logo) is edited by its owners. Its staff are
:class:`VendorStaff` rows with a role (``owner``, ``manager``, ``staff``; the account holder is an
``owner``); people join through a :class:`StoreInvitation` (:data:`INVITATION_TRANSITIONS`).
Couriers collect its orders at its :class:`PickupPoint`. Table names stay ``commerce_*``: the
rooms of ``commerce`` share one app label.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

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
    logo = models.FileField(upload_to="stores/logos/", max_length=200, blank=True,
                            help_text="Re-encoded image in the default storage (commerce.stores.services.vendor_set_logo)")
    contact_email = models.EmailField(blank=True)
    contact_phone = PhoneNumberField(blank=True, help_text="E.164")
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = CountryField(blank=True)
    website = models.URLField(max_length=300, blank=True)
    tax_id = models.CharField(max_length=32, blank=True, help_text="VAT or tax number, checked per country")
    email_public = models.BooleanField(default=False, help_text="Show contact_email on the public store page")
    phone_public = models.BooleanField(default=False, help_text="Show contact_phone on the public store page")
    address_public = models.BooleanField(default=False, help_text="Show the street address (not only city and "
                                                                  "country) on the public store page")
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

    def address_dict(self) -> dict[str, str]:
        """The structured address: ``{"line1", "line2", "postal_code", "city", "region",
        "country"}`` (ISO 3166-1 alpha-2, ``""`` when unset); what a geocoder is given."""
        return {"line1": self.address_line1, "line2": self.address_line2, "postal_code": self.postal_code,
                "city": self.city, "region": self.region, "country": self.country.code or ""}


class VendorStaffRole(models.TextChoices):
    """What a member of a store's staff may do (``commerce.stores.permissions``): ``owner`` —
    everything, including the staff and payouts; ``manager`` — products, orders and returns;
    ``staff`` — orders."""

    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"


class VendorStaff(models.Model):
    """Membership of a user in a store's staff with a :class:`VendorStaffRole` (the account
    holder, ``Vendor.owner``, has role ``owner``)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships")
    role = models.CharField(max_length=16, choices=VendorStaffRole.choices, default=VendorStaffRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "vendor staff"
        constraints = [
            models.UniqueConstraint(fields=["vendor", "user"], name="commerce_vendorstaff_unique"),
            models.CheckConstraint(condition=Q(role__in=[r.value for r in VendorStaffRole]),
                                   name="commerce_vendorstaff_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor.name} ({self.role})"


class PickupSource(models.TextChoices):
    """Where a pickup point's coordinates come from: typed in by the store (``manual``) or
    derived from the store's address by the configured geocoder (``address``,
    ``STORE_GEOCODER``)."""

    MANUAL = "manual", "Set by hand"
    ADDRESS = "address", "From the store's address"


class PickupPoint(models.Model):
    """Where couriers collect a store's orders: WGS 84 coordinates (decimal degrees, 6 places,
    about 0.1 m) and what the courier reads there (``description``: entrance, opening hours).
    Delivery copies the coordinates into each new delivery attempt (``Delivery.pickup_lat/lon``),
    so moving the point never moves a delivery already made. ``latitude``/``longitude`` are null
    only while a point derived from the address waits for the geocoder."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="pickup_point")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    source = models.CharField(max_length=16, choices=PickupSource.choices, default=PickupSource.MANUAL)
    description = models.CharField(max_length=300, blank=True)
    geocoded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(source__in=[s.value for s in PickupSource]),
                                   name="commerce_pickup_source_valid"),
            models.CheckConstraint(condition=Q(latitude__isnull=True, longitude__isnull=True)
                                   | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                                   name="commerce_pickup_coordinates_valid"),
            models.CheckConstraint(condition=Q(source="address") | Q(latitude__isnull=False),
                                   name="commerce_pickup_manual_has_coordinates"),
        ]

    def __str__(self) -> str:
        return f"pickup of {self.vendor_id} at {self.latitude},{self.longitude} ({self.source})"

    @property
    def coordinates(self) -> tuple[float, float] | None:
        """``(latitude, longitude)`` as floats, or None while a geocoded point has none."""
        if self.latitude is None or self.longitude is None:
            return None
        return float(self.latitude), float(self.longitude)


class InvitationStatus(models.TextChoices):
    """Life of a staff invitation: ``pending`` until the invitee accepts or declines it, or an
    owner revokes it (re-inviting the same e-mail revokes the pending one). A pending invitation
    past ``expires_at`` can no longer be accepted."""

    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


#: allowed status transitions of an invitation {from: {to, ...}}
INVITATION_TRANSITIONS: dict[str, frozenset[str]] = {
    InvitationStatus.PENDING: frozenset({InvitationStatus.ACCEPTED, InvitationStatus.DECLINED, InvitationStatus.REVOKED}),
    InvitationStatus.ACCEPTED: frozenset(),
    InvitationStatus.DECLINED: frozenset(),
    InvitationStatus.REVOKED: frozenset(),
}

#: the invitation's state machine (``core.fsm``); only ``commerce.stores.services`` moves it
INVITATION_MACHINE = StateMachine("invitation", INVITATION_TRANSITIONS)


class StoreInvitation(models.Model):
    """An invitation of ``email`` to join ``vendor``'s staff with ``role``. The link in the
    e-mail carries a random token; only its SHA-256 (``token_hash``) is stored, so the table
    cannot be used to accept anything. Accepting needs the token *and* the signed-in account with
    that e-mail, before ``expires_at``. At most one pending invitation per store and e-mail."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="Lower case")
    role = models.CharField(max_length=16, choices=VendorStaffRole.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="store_invitations_sent")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="store_invitations_accepted")
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "email"], condition=Q(status="pending"),
                                    name="commerce_invitation_one_pending"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in InvitationStatus]),
                                   name="commerce_invitation_status_valid"),
            models.CheckConstraint(condition=Q(role__in=[r.value for r in VendorStaffRole]),
                                   name="commerce_invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.vendor_id} as {self.role} ({self.status})"
