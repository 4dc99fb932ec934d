"""What the simulated mobile clients do. Each scenario has a ``setup`` (sync, run once through
the ORM and services before any socket opens: users, tokens, conversations, auctions...) that
returns the actors, and an async ``run`` that plays them over real sockets for ``duration``
seconds, recording into :class:`simulator.client.Stats`.

Scenarios:

* ``carts`` — buyers with two devices each; one device edits the cart (``set_quantity`` /
  ``add_item`` commands every ~2 s), the other must see every ``cart.updated`` (latency from the
  command to the other device's event).
* ``chats`` — buyer–vendor pairs; each side sends a message every ~3 s with a ``client_msg_id``,
  the other side measures send → ``chat.message`` latency and sends read receipts.
* ``bidders`` (``auctions.simulation``) — bidders on live auctions bidding in the final seconds (``bid`` command on
  ``auction:<id>``), watchers measuring ``auction.bid_placed`` latency.
* ``couriers`` (``delivery.simulation``) — couriers streaming 1 Hz GPS (``location`` on ``delivery:<id>``) along a straight
  route, a buyer watching ``delivery.location``.

Setup users are named ``sim-<scenario>-<n>@sim.invalid`` and reused between runs.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simulator.client import ProtocolError, SimClient, Stats

SIM_DOMAIN = "sim.invalid"


@dataclass
class Actor:
    """A simulated person: user id, access token and anything the scenario needs."""

    user_id: str
    token: str
    extra: dict[str, Any] = field(default_factory=dict)


def _token(user) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def sim_users(kind: str, n: int, *, roles: list[str] | None = None) -> list:
    """``n`` simulation users of ``kind`` (created once with unusable passwords, then reused)."""
    from core.models import Role, User

    emails = [f"sim-{kind}-{i}@{SIM_DOMAIN}" for i in range(n)]
    existing = {u.email: u for u in User.objects.filter(email__in=emails)}
    missing = [User(email=e, display_name=f"Sim {kind} {i}", roles=roles or [Role.BUYER])
               for i, e in enumerate(emails) if e not in existing]
    for u in missing:
        u.set_unusable_password()
    User.objects.bulk_create(missing, ignore_conflicts=True)
    by_email = {u.email: u for u in User.objects.filter(email__in=emails)}
    return [by_email[e] for e in emails]


def sim_store(name: str = "Sim Store"):
    """An active store owned by a simulation vendor, with a category and 20 products in stock."""
    from commerce.models import Category, Product, Vendor, VendorStaff, VendorStaffRole, VendorStatus
    from core.models import Role

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
    return vendor


# --- carts -------------------------------------------------------------------------------


def setup_carts(n: int) -> list[Actor]:
    from commerce.models import Product
    from commerce.services import cart_clear

    vendor = sim_store()
    products = [str(p) for p in Product.objects.filter(vendor=vendor).order_by("sku").values_list("pk", flat=True)]
    actors = []
    for user in sim_users("cart", n):
        cart_clear(user=user)
        actors.append(Actor(str(user.pk), _token(user), {"products": products}))
    return actors


async def run_carts(actors: list[Actor], *, ws_url: str, stats: Stats, duration: float, rng: random.Random) -> None:
    async def one(actor: Actor) -> None:
        topic = f"cart:{actor.user_id}"
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


# --- chats -------------------------------------------------------------------------------


def setup_chats(n: int) -> list[Actor]:
    """``n`` buyer–vendor pairs: each buyer opens a conversation with the sim store."""
    from chat.services import conversation_start
    from commerce.models import Product

    vendor = sim_store()
    product = Product.objects.filter(vendor=vendor).order_by("sku").first()
    actors = []
    vendor_token = _token(vendor.owner)
    for user in sim_users("chat", n):
        result = conversation_start(user=user, vendor_id=vendor.pk, context_type="product", context_id=product.pk)
        conversation = getattr(result, "conversation", result)
        actors.append(Actor(str(user.pk), _token(user), {"conversation": str(conversation.pk),
                                                          "vendor_token": vendor_token}))
    return actors


async def run_chats(actors: list[Actor], *, ws_url: str, stats: Stats, duration: float, rng: random.Random) -> None:
    sent: dict[str, float] = {}

    def on_message(client: SimClient, frame: dict) -> None:
        if frame.get("type") != "chat.message":
            return
        msg = frame["data"].get("message") or frame["data"]
        t = sent.get(msg.get("client_msg_id") or "")
        if t is not None and client.name != msg.get("client_msg_id", "").split(":")[0]:
            stats.latency("chats: send → other side", (time.perf_counter() - t) * 1000)

    async def side(actor: Actor, who: str, token: str) -> None:
        topic = f"chat:{actor.extra['conversation']}"
        client = SimClient(ws_url, token, name=who, stats=stats, scenario="chats")
        client.handlers.append(on_message)
        try:
            await client.connect()
            await client.subscribe(topic)
            deadline = time.monotonic() + duration
            await asyncio.sleep(rng.uniform(0, 2))
            while time.monotonic() < deadline:
                cid = f"{who}:{uuid.uuid4().hex[:12]}"
                sent[cid] = time.perf_counter()
                try:
                    result = await client.command(topic, "send", {"text": f"hello from {who}", "client_msg_id": cid})
                    await client.command(topic, "read", {"up_to_seq": result["message"]["seq"]})
                except ProtocolError:
                    pass
                await asyncio.sleep(rng.uniform(2.5, 3.5))
        finally:
            await client.close()

    # one vendor socket per conversation (a vendor app with one screen per chat)
    await asyncio.gather(*(side(a, who, tok) for a in actors
                           for who, tok in (("buyer", a.token), ("vendor", a.extra["vendor_token"]))))


SCENARIOS: dict[str, tuple] = {
    "carts": (setup_carts, run_carts),
    "chats": (setup_chats, run_chats),
}


def register(name: str, setup, run) -> None:
    """Add a scenario (apps add theirs, e.g. ``auctions.simulation``)."""
    SCENARIOS[name] = (setup, run)


def load_app_scenarios() -> None:
    """Import ``<app>.simulation`` of every installed app that has one; such a module calls
    :func:`register` for its scenarios (auctions: ``bidders``, delivery: ``couriers``)."""
    import importlib
    import importlib.util

    from django.apps import apps

    for config in apps.get_app_configs():
        name = f"{config.name}.simulation"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
