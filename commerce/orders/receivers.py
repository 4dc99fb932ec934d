"""What the orders room provides to rooms below it, and how it answers them: the stock a buyer's
active checkout holds, for the cart payload (``commerce.cart.hooks.checkout_reservations``); a
store's status change, announced on its ``vendor:`` desk (``commerce.stores.signals``)."""

from __future__ import annotations

from realtime.outbox import publish

from commerce.cart.hooks import checkout_reservations
from commerce.orders.events import VendorStatusChanged
from commerce.orders.selectors import active_reservation_for
from commerce.stores.events import VENDOR_TOPIC
from commerce.stores.signals import vendor_status_changed


def announce_vendor_status(sender=None, *, vendor, from_status: str, **kwargs) -> None:
    """Receiver of ``vendor_status_changed`` (the vendor is locked, inside its transaction):
    ``vendor.status_changed`` on the store's desk, after commit."""
    publish(topic=VENDOR_TOPIC.name(vendor.pk), event=VendorStatusChanged.build(vendor=vendor, from_status=from_status))


def connect() -> None:
    """Provide the hooks and connect the receivers (``CommerceConfig.ready``)."""
    checkout_reservations.provide(active_reservation_for)
    vendor_status_changed.connect(announce_vendor_status, dispatch_uid="commerce.orders.vendor_desk_status")
