"""Deliveries for tests, all through the real pipeline: an order moved to ``ready_for_pickup`` by
its store (which creates the delivery), claimed and picked up by a courier, delivered with the
buyer's PIN (the only way an order becomes ``delivered``); couriers, and point helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from commerce.orders import services as order_services
from commerce.orders.models import Order
from commerce.payments import services as payments
from core.models import Role
from delivery import services
from commerce.stores.models import PickupPoint
from delivery.models import ENDED_STATUSES, Delivery
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import UserFactory
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet

#: drop-off of the default test address (tests.factories.core.AddressFactory): Berlin
DROP = (52.520008, 13.404954)
#: pickup 2 km south of it
PICK = (52.502, 13.404954)


def courier(**kw):
    return UserFactory(roles=[Role.COURIER], **kw)


def ready_delivery(*, buyer=None, vendor=None, price="10.00", method: str = "card") -> Delivery:
    """A paid order (by card ``tok_visa``, or ``method="wallet"`` from a funded wallet) moved to
    ready_for_pickup by its store: the delivery exists, unclaimed."""
    vendor = vendor or VendorFactory()
    PickupPoint.objects.get_or_create(vendor=vendor, defaults={"latitude": PICK[0], "longitude": PICK[1]})
    product = ProductFactory(vendor=vendor, stock=5, price=price)
    buyer = buyer_with_cart({product: 1}, buyer=buyer)
    order = checkout_for(buyer=buyer).orders.get()
    if method == "wallet":
        funded_wallet(buyer, order.total)
        payments.payment_create(user=buyer, order_id=order.id, method="wallet")
    else:
        payments.payment_create(user=buyer, order_id=order.id, method="card", card_token="tok_visa")
    return dispatch(order)


def dispatch(order: Order) -> Delivery:
    """A paid order's store moves it to processing and ready_for_pickup; its open delivery."""
    for status in ("processing", "ready_for_pickup"):
        order_services.order_transition(user=order.vendor.owner, order_id=order.id, to_status=status)
    return open_delivery_of(order)


def open_delivery_of(order: Order) -> Delivery:
    """The order's delivery attempt that has not ended."""
    return Delivery.objects.select_related("order").exclude(status__in=ENDED_STATUSES).get(order=order)


def picked_up(delivery: Delivery, carrier=None):
    """``carrier`` (a new courier by default) claims ``delivery`` and picks it up (the order goes
    out_for_delivery). Returns ``(delivery, carrier)``, refreshed."""
    carrier = carrier or courier()
    services.delivery_claim(courier=carrier, delivery_id=delivery.pk)
    services.delivery_set_status(courier=carrier, delivery_id=delivery.pk, status="picked_up")
    delivery.refresh_from_db()
    return delivery, carrier


def deliver(delivery: Delivery, carrier) -> Order:
    """Complete ``delivery`` with the buyer's PIN (proof of delivery); the delivered order."""
    services.delivery_complete(courier=carrier, delivery_id=delivery.pk, pin=Delivery.objects.get(pk=delivery.pk).pin)
    return Order.objects.select_related("vendor").get(pk=delivery.order_id)


def deliver_paid_order(order: Order, carrier=None) -> Order:
    """Take a paid order through the whole delivery flow (store dispatch, courier pickup, PIN)."""
    return deliver(*picked_up(dispatch(order), carrier))


def delivered_order(*, buyer=None, vendor=None, price="10.00", method: str = "card") -> Order:
    """A paid order delivered with proof: its escrow is held inside the buyer-protection window."""
    return deliver(*picked_up(ready_delivery(buyer=buyer, vendor=vendor, price=price, method=method)))


def point(ts: datetime, lat: float, lon: float, accuracy: float = 5.0, speed: float | None = 5.0, heading=0.0) -> dict:
    return {"ts": ts.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z"), "lat": lat, "lon": lon,
            "accuracy_m": accuracy, "speed_mps": speed, "heading_deg": heading}


def seconds_ago(s: float, now: datetime) -> datetime:
    return now - timedelta(seconds=s)
