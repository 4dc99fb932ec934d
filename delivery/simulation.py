"""The ``couriers`` scenario of ``manage.py simulate``: couriers streaming 1 Hz GPS.

Setup: per courier, a simulation buyer orders from the simulation store (checkout, card payment,
store moves it to ready for pickup), the courier claims and picks it up. Run: each courier sends
a ``location`` command every second along the straight route from pickup to drop-off (accuracy
6 m, speed 8 m/s); the buyer's socket watches ``delivery:<id>`` and measures the time from the
courier's send to the ``delivery.location`` event (matched by the point's ``ts``). The 2 s
throttle means watchers get about half of the points: the newest wins.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime
from datetime import timezone as dt_timezone

from commerce.catalog.models import Product
from commerce.demo import paid_order
from commerce.orders import services as order_services
from commerce.simulation import sim_store
from commerce.stores.services import pickup_point_set
from core.models import Address, Role
from delivery import services
from delivery.events import DELIVERY_TOPIC
from delivery.geo import haversine_m, interpolate
from delivery.models import Delivery
from simulator.client import ProtocolError, SimClient, Stats
from simulator.scenarios import Actor, access_token, register, sim_users

DROP = (52.520008, 13.404954)
PICK = (52.5065, 13.3905)


def setup_couriers(n: int) -> list[Actor]:
    vendor = sim_store()
    pickup_point_set(vendor_id=vendor.pk, actor=vendor.owner, latitude=PICK[0], longitude=PICK[1])
    product = Product.objects.filter(vendor=vendor).order_by("sku").first()
    couriers = sim_users("courier", n, roles=[Role.COURIER])
    buyers = sim_users("parcel", n)
    actors = []
    for i, (courier, buyer) in enumerate(zip(couriers, buyers)):
        Delivery.objects.filter(courier=courier, status__in=["assigned", "picked_up", "en_route", "arriving"]).update(
            status="failed", failure_reason="simulation reset")
        Address.objects.get_or_create(user=buyer, is_default_shipping=True, defaults={
            "full_name": buyer.display_name, "line1": f"Sim street {i}", "city": "Berlin", "postal_code": "10117",
            "country": "DE", "latitude": DROP[0] + (i % 10) * 0.001, "longitude": DROP[1] + (i // 10) * 0.001})
        order = paid_order(buyer=buyer, product=product, method="card", card_token="tok_visa")
        for status in ("processing", "ready_for_pickup"):
            order_services.order_transition(user=vendor.owner, order_id=order.id, to_status=status)
        delivery = Delivery.objects.get(order=order)
        services.delivery_claim(courier=courier, delivery_id=delivery.pk)
        services.delivery_set_status(courier=courier, delivery_id=delivery.pk, status="picked_up")
        actors.append(Actor(str(courier.pk), access_token(courier), {
            "delivery": str(delivery.pk), "buyer_token": access_token(buyer),
            "route": (delivery.pickup_lat, delivery.pickup_lon, delivery.dropoff_lat, delivery.dropoff_lon)}))
    return actors


async def run_couriers(actors: list[Actor], *, ws_url: str, stats: Stats, duration: float, rng: random.Random) -> None:
    sent: dict[str, float] = {}

    def on_location(_client, frame: dict) -> None:
        if frame.get("type") == "delivery.location":
            t = sent.pop(frame["data"].get("ts"), None)
            if t is not None:
                stats.latency("couriers: position → watcher", (time.perf_counter() - t) * 1000)

    async def one(actor: Actor) -> None:
        topic = DELIVERY_TOPIC.name(actor.extra['delivery'])
        courier = SimClient(ws_url, actor.token, name="courier", stats=stats, scenario="couriers")
        watcher = SimClient(ws_url, actor.extra["buyer_token"], name="buyer", stats=stats, scenario="couriers")
        watcher.handlers.append(on_location)
        try:
            await watcher.connect()
            await watcher.subscribe(topic)
            await courier.connect()
            await asyncio.sleep(rng.uniform(0, 1))
            plat, plon, dlat, dlon = actor.extra["route"]
            steps = int(duration)
            per_second = 8.0 / max(1.0, haversine_m(plat, plon, dlat, dlon))  # 8 m/s along the route
            for i in range(steps):
                lat, lon = interpolate(plat, plon, dlat, dlon, min(0.8, i * per_second))  # outside the arriving radius
                ts = datetime.now(dt_timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                t0 = time.perf_counter()
                sent[ts] = t0
                try:
                    await courier.command(topic, "location", {"ts": ts, "lat": lat, "lon": lon, "accuracy_m": 6.0,
                                                              "speed_mps": 8.0, "heading_deg": 0.0})
                    stats.count("couriers", "positions sent")
                except ProtocolError:
                    sent.pop(ts, None)
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))
            await asyncio.sleep(2.5)
        finally:
            await courier.close()
            await watcher.close()

    await asyncio.gather(*(one(a) for a in actors))


register("couriers", setup_couriers, run_couriers)
