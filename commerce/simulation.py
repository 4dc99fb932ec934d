"""Commerce in the simulator (``manage.py simulate``): the sim store other scenarios buy from, and
the ``carts`` scenario — buyers with two devices each; one device edits the cart (``add_item`` /
``clear`` commands every ~2 s), the other must see every ``cart.updated`` (latency from the
command to the other device's event)."""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from typing import Any

from commerce.cart.events import CART_TOPIC
from commerce.cart.services import cart_clear
from commerce.catalog.models import Category, Product
from commerce.shipping.models import ShippingMethod, ShippingZone
from commerce.stores.models import Vendor, VendorStaff, VendorStaffRole, VendorStatus
from core.models import Role
from simulator.client import ProtocolError, SimClient, Stats
from simulator.scenarios import Actor, access_token, register, sim_users


def sim_store(name: str = "Sim Store"):
    """An active store owned by a simulation vendor, with a category, 20 products in stock and a
    free shipping method everywhere."""
    owner = sim_users("vendor", 1, roles=[Role.BUYER, Role.VENDOR])[0]
    vendor, _ = Vendor.objects.get_or_create(slug="sim-store", defaults={"name": name, "owner": owner,
                                                                           "status": VendorStatus.ACTIVE})
    VendorStaff.objects.get_or_create(vendor=vendor, user=vendor.owner, defaults={"role": VendorStaffRole.OWNER})
    category, _ = Category.objects.get_or_create(slug="sim-category", parent=None, defaults={"name": "Sim"})
    for i in range(20):
        Product.objects.get_or_create(
            vendor=vendor, sku=f"SIM-{i:03d}",
            defaults={"category": category, "name": f"Sim part {i}", "slug": f"sim-part-{i}",
                      "price": Decimal("9.99") + i, "stock": 1_000_000},
        )
    Product.objects.filter(vendor=vendor).update(stock=1_000_000, is_active=True, deleted_at=None)
    zone, _ = ShippingZone.objects.get_or_create(vendor=vendor, name="Everywhere", defaults={"rest_of_world": True})
    ShippingMethod.objects.get_or_create(vendor=vendor, zone=zone, name="Free delivery",
                                         defaults={"rule": "flat", "price": Decimal("0.00")})
    return vendor


def setup_carts(n: int) -> list[Actor]:
    """``n`` buyers with an empty cart and the sim store's products to add."""
    vendor = sim_store()
    products = [str(p) for p in Product.objects.filter(vendor=vendor).order_by("sku").values_list("pk", flat=True)]
    actors = []
    for user in sim_users("cart", n):
        cart_clear(user=user)
        actors.append(Actor(str(user.pk), access_token(user), {"products": products}))
    return actors


async def run_carts(actors: list[Actor], *, ws_url: str, stats: Stats, duration: float, rng: random.Random) -> None:
    async def one(actor: Actor) -> None:
        topic = CART_TOPIC.name(actor.user_id)
        phone = SimClient(ws_url, actor.token, name="phone", stats=stats, scenario="carts")
        tablet = SimClient(ws_url, actor.token, name="tablet", stats=stats, scenario="carts")
        inflight: dict[str, Any] = {"t0": None}  # one command at a time per buyer

        def on_tablet(_client, frame):
            if frame.get("type") == "cart.updated" and inflight["t0"] is not None:
                stats.latency("carts: command → other device", (time.perf_counter() - inflight["t0"]) * 1000)
                inflight["t0"] = None

        tablet.handlers.append(on_tablet)
        try:
            for c in (phone, tablet):
                await c.connect()
                await c.subscribe(topic)
            deadline = time.monotonic() + duration
            while time.monotonic() < deadline:
                if inflight["t0"] is not None:  # the previous change never reached the other device
                    stats.count("carts", "events lost")
                product = rng.choice(actor.extra["products"])
                inflight["t0"] = time.perf_counter()
                try:
                    data = await phone.command(topic, "add_item", {"product_id": product, "quantity": 1})
                    if data["item_count"] > 30:
                        await asyncio.sleep(1.0)
                        inflight["t0"] = time.perf_counter()
                        await phone.command(topic, "clear", {})
                except ProtocolError:
                    inflight["t0"] = None
                await asyncio.sleep(rng.uniform(1.5, 2.5))
            if inflight["t0"] is not None:
                stats.count("carts", "events lost")
        finally:
            for c in (phone, tablet):
                await c.close()

    await asyncio.gather(*(one(a) for a in actors))


register("carts", setup_carts, run_carts)
