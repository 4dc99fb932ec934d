"""Demo delivery (the demo stores' pickup points are ``commerce.demo``'s): buyer1's order from the
first store on its way — ready for pickup, claimed by courier1, picked up, a few positions along the route — so
``manage.py simulate_courier <delivery>`` (or ``simulate --couriers``) can drive it while the
console watches; and two orders of buyer3 that courier2 delivered with buyer3's PIN, both inside
their buyer-protection window: one waiting for the window to end (or for buyer3 to confirm
receipt), one frozen by a dispute the store has answered, waiting in the staff queue.
Idempotent: nothing is added once buyer1 (resp. buyer3) has a delivery."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from commerce.catalog.models import Product
from commerce.demo import paid_order
from commerce.disputes import services as disputes
from commerce.orders import services as order_services
from commerce.orders.models import Order
from delivery import geo, services
from delivery.models import Delivery


def _on_its_way(*, buyer, product, courier):
    """``buyer`` buys ``product`` (wallet), its store dispatches it, ``courier`` claims and picks
    it up, all through the real services; returns the delivery."""
    order = paid_order(buyer=buyer, product=product)
    for status in ("processing", "ready_for_pickup"):
        order_services.order_transition(user=product.vendor.owner, order_id=order.id, to_status=status)
    delivery = Delivery.objects.get(order=order)
    services.delivery_claim(courier=courier, delivery_id=delivery.pk)
    services.delivery_set_status(courier=courier, delivery_id=delivery.pk, status="picked_up")
    delivery.refresh_from_db()
    return delivery


def seed(ctx) -> None:
    """The delivery in progress, the delivered and disputed orders (the stores' pickup points are
    commerce's demo data)."""
    seed_in_progress(ctx)
    seed_protection(ctx)


def seed_in_progress(ctx) -> None:
    """buyer1's delivery on its way (see the module docstring)."""
    buyer, courier, vendor = ctx.users.get("buyer1"), ctx.users.get("courier1"), ctx.vendors.get("vendor1")
    if not (buyer and courier and vendor) or Delivery.objects.filter(order__buyer=buyer).exists():
        return
    product = Product.objects.public().filter(vendor=vendor, stock__gte=5).order_by("-sku").first()
    if product is None:
        return
    delivery = _on_its_way(buyer=buyer, product=product, courier=courier)
    now = timezone.now()
    points = []
    for i in range(5):
        lat, lon = geo.interpolate(delivery.pickup_lat, delivery.pickup_lon, delivery.dropoff_lat, delivery.dropoff_lon, i * 0.05)
        points.append({"ts": (now - timedelta(seconds=(5 - i) * 4)).isoformat(), "lat": lat, "lon": lon,
                       "accuracy_m": 8.0, "speed_mps": 5.0, "heading_deg": 0.0})
    services.delivery_ingest_locations(courier=courier, delivery_id=delivery.pk, points=points)
    ctx.count("deliveries", 1)
    ctx.summary.append(f"Delivery in progress (courier1 → buyer1, PIN {delivery.pin}): delivery:{delivery.pk}; "
                       f"drive it with: manage.py simulate_courier {delivery.pk}")


def seed_protection(ctx) -> None:
    """buyer3's two delivered orders (see the module docstring), through the real flow: store
    dispatch, courier2's claim and pickup, the buyer's PIN, then the buyer's dispute and the
    store's response."""
    buyer, courier, staff = ctx.users.get("buyer3"), ctx.users.get("courier2"), ctx.users.get("admin")
    stores = [ctx.vendors.get("vendor2"), ctx.vendors.get("vendor1")]
    if not (buyer and courier and all(stores)) or Delivery.objects.filter(order__buyer=buyer).exists():
        return
    delivered = []
    for vendor in stores:
        product = Product.objects.public().filter(vendor=vendor, stock__gte=5).order_by("sku")[1:2].first()
        if product is None:
            return
        delivery = _on_its_way(buyer=buyer, product=product, courier=courier)
        services.delivery_complete(courier=courier, delivery_id=delivery.pk, pin=delivery.pin)
        delivered.append(Order.objects.get(pk=delivery.order_id))
    kept, disputed = delivered
    dispute = disputes.dispute_open(user=buyer, order_id=disputed.id, reason="damaged",
                                    description="The part arrived with a cracked housing; photos in the chat.")
    disputes.dispute_add_statement(user=stores[1].owner, dispute_id=dispute.pk,
                                   text="It left our warehouse intact; we can offer a partial refund.")
    ctx.count("deliveries", 2)
    ctx.count("disputes", 1)
    ctx.summary.append(f"Buyer protection: buyer3's order {kept.number} delivered, paid to the store after the window "
                       f"(or when buyer3 confirms receipt); order {disputed.number} disputed (escrow frozen), waiting "
                       f"in the staff queue for {staff.email if staff else 'staff'}")

