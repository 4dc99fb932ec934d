"""Deliveries for tests: an order moved to ``ready_for_pickup`` through the real pipeline (which
creates the delivery), couriers, and point helpers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

from commerce import checkout, orders, payments
from core.models import Role
from delivery.models import Delivery, PickupPoint
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import UserFactory
from tests.factories.orders import buyer_with_cart

#: drop-off of the default test address (tests.factories.core.AddressFactory): Berlin
DROP = (52.520008, 13.404954)
#: pickup 2 km south of it
PICK = (52.502, 13.404954)


def courier(**kw):
    return UserFactory(roles=[Role.COURIER], **kw)


def ready_delivery(*, buyer=None, vendor=None) -> Delivery:
    """A paid order moved to ready_for_pickup by its store: the delivery exists, unclaimed."""
    vendor = vendor or VendorFactory()
    PickupPoint.objects.get_or_create(vendor=vendor, defaults={"latitude": PICK[0], "longitude": PICK[1]})
    product = ProductFactory(vendor=vendor, stock=5)
    buyer = buyer_with_cart({product: 1}, buyer=buyer)
    order = checkout.checkout_create(buyer=buyer).orders.get()
    payments.payment_create(user=buyer, order_id=order.id, method="card", card_token="tok_visa")
    for status in ("processing", "ready_for_pickup"):
        orders.order_transition(user=vendor.owner, order_id=order.id, to_status=status)
    return Delivery.objects.select_related("order").get(order=order)


def point(ts: datetime, lat: float, lon: float, accuracy: float = 5.0, speed: float | None = 5.0, heading=0.0) -> dict:
    return {"ts": ts.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z"), "lat": lat, "lon": lon,
            "accuracy_m": accuracy, "speed_mps": speed, "heading_deg": heading}


def seconds_ago(s: float, now: datetime) -> datetime:
    return now - timedelta(seconds=s)
