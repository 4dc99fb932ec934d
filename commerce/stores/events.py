"""The ``vendor:<vendor_id>`` topic kind and the store's own event types (``realtime.events``).

The kind is the store's (the room that owns ``Vendor``), so that the store itself can announce
on it and every room above can publish on it; its handler, the live desk (snapshot,
authorisation), is ``commerce.orders.realtime``, and the other types on it are declared by
their rooms (order, escrow and dispute types; the catalogue's import progress,
``commerce.catalog.events``; invoices and credit notes, ``commerce.invoices.events``). A removed
member's sockets lose the topic through the gateway's ``subscription.revoked``
(``commerce.stores.receivers`` → ``realtime.outbox.reauthorize_user``; reason ``staff_removed``).
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from realtime.events import Event, EventSchema, Payload, Timestamp, TopicKind, Topics, one_of

from commerce.stores.models import PickupSource, Vendor, VendorStaff, VendorStaffRole, VendorStatus
from commerce.stores.selectors import vendor_data
from commerce.stores.serializers import StaffMemberOutputSerializer

#: ``vendor:<vendor_id>``: a store's live desk (its staff only)
VENDOR_TOPIC = TopicKind("vendor", key="the store's (vendor's) id",
                         description="a store's live desk (orders, disputes, catalogue imports), for its staff")


class StoreAddress(Payload):
    """A store's address (ISO 3166-1 alpha-2 ``country``, or empty)."""

    line1: str
    line2: str
    postal_code: str
    city: str
    region: str
    country: str


class StorePickupPoint(Payload):
    """Where couriers collect the store's parcels (WGS 84 decimal degrees; null while a point
    taken from the address waits for the geocoder)."""

    latitude: float | None
    longitude: float | None
    source: one_of(PickupSource.values)
    description: str
    geocoded_at: Timestamp | None
    updated_at: Timestamp


class StoreData(Payload):
    """A store as its staff see it (``GET /api/v1/vendors/{id}/`` for a member)."""

    id: UUID
    name: str
    slug: str
    description: str
    status: one_of(VendorStatus.values)
    logo_url: str | None = Field(description="URL of the re-encoded logo")
    website: str
    address: StoreAddress
    contact_email: str
    contact_phone: str = Field(description="E.164, or empty")
    owner_id: UUID = Field(description="the account holder (whose wallet receives the earnings)")
    tax_id: str
    email_public: bool
    phone_public: bool
    address_public: bool
    pickup_point: StorePickupPoint | None
    status_changed_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class StoreUpdated(EventSchema):
    """The store's owners (or a marketplace admin) changed its profile, logo or pickup point:
    the store as its staff see it."""

    type: ClassVar[str] = "store.updated"
    topics: ClassVar[Topics] = (VENDOR_TOPIC,)

    vendor: StoreData

    @classmethod
    def build(cls, *, vendor: Vendor) -> Event:
        return cls.event({"vendor": vendor_data(vendor, private=True)})


class StaffMember(Payload):
    """A member of a store's staff. ``account_holder``: the owner who applied for the store."""

    user_id: UUID
    email: str
    display_name: str
    role: one_of(VendorStaffRole.values)
    account_holder: bool
    joined_at: Timestamp


class StoreStaffChanged(EventSchema):
    """Someone joined the store's staff (accepted an invitation), changed role, or left or was
    removed. A removed member's own sockets are sent ``subscription.revoked`` instead."""

    type: ClassVar[str] = "store.staff_changed"
    topics: ClassVar[Topics] = (VENDOR_TOPIC,)

    vendor_id: UUID
    member: StaffMember
    change: Literal["added", "role_changed", "removed"]

    @classmethod
    def build(cls, *, member: VendorStaff, change: str) -> Event:
        """``member`` (its user and vendor loaded) after ``change``."""
        return cls.event({"vendor_id": member.vendor_id, "member": StaffMemberOutputSerializer(member).data,
                          "change": change})
