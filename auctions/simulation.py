"""The ``bidders`` scenario of ``manage.py simulate``: bidders in the final seconds of auctions.

Setup: one live auction per 10 bidders on the simulation store, each ending ``duration`` seconds
after the traffic starts (soft close 10 s window / 10 s extension, hard end 30 s later), and
funded bidders. Run: every bidder subscribes; during the last third of the auction's time they
bid the minimum they last saw plus 0–2 increments every 0.5–1.5 s (the sniping rush); a watcher
per auction measures bid → ``auction.bid_placed`` latency by version. Refusals (``bid_too_low``
when someone was faster, ``auction_ended``) are counted by code.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from auctions import services
from auctions.events import AUCTION_TOPIC
from commerce.simulation import sim_store
from commerce.wallet.models import LedgerKind
from commerce.wallet.services import wallet_credit, wallet_get
from core.models import Role
from simulator.client import ProtocolError, SimClient, Stats
from simulator.scenarios import Actor, access_token, register, sim_users


def setup_bidders(n: int, *, duration: float = 30.0) -> list[Actor]:
    vendor = sim_store()
    admin = sim_users("admin", 1, roles=[Role.ADMIN])[0]  # the role alone makes a marketplace admin
    users = sim_users("bidder", n)
    actors = []
    auctions = []
    for i in range(0, n, 10):
        now = timezone.now()
        ends = now + timedelta(seconds=duration + 5)
        a = services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title=f"Sim lot {int(now.timestamp())}-{i}",
                                    start_price="1.00", ends_at=ends, hard_end=ends + timedelta(seconds=30),
                                    soft_close_window_seconds=10, soft_close_extension_seconds=10)
        services.auction_approve(user=admin, auction_id=a.pk)
        auctions.append(str(a.pk))
    for i, user in enumerate(users):
        if wallet_get(user=user).available < Decimal("100000"):
            wallet_credit(user=user, amount=Decimal("1000000.00"), currency="EUR", kind=LedgerKind.DEPOSIT,
                          reference="sim:funds")
        actors.append(Actor(str(user.pk), access_token(user), {"auction": auctions[i // 10], "watch_token": access_token(admin)}))
    return actors


async def run_bidders(actors: list[Actor], *, ws_url: str, stats: Stats, duration: float, rng: random.Random) -> None:
    sent: dict[tuple[str, int], float] = {}
    early: dict[tuple[str, int], float] = {}

    def on_event(_client, frame: dict) -> None:
        if frame.get("type") != "auction.bid_placed":
            return
        key = (frame["topic"], frame["data"]["version"])
        t = sent.pop(key, None)
        if t is None:
            early[key] = time.perf_counter()
        else:
            stats.latency("bidders: bid → watcher", (time.perf_counter() - t) * 1000)

    async def watcher(auction_id: str, token: str) -> None:
        client = SimClient(ws_url, token, name="watcher", stats=stats, scenario="bidders")
        client.handlers.append(on_event)
        await client.connect()
        await client.subscribe(AUCTION_TOPIC.name(auction_id))
        await asyncio.sleep(duration + 8)
        await client.close()

    async def one(actor: Actor) -> None:
        topic = AUCTION_TOPIC.name(actor.extra['auction'])
        client = SimClient(ws_url, actor.token, name="bidder", stats=stats, scenario="bidders")
        minimum = {"v": Decimal("1.00")}

        def track(_c, frame: dict) -> None:
            if frame.get("type") == "auction.bid_placed" and frame["data"].get("minimum_bid"):
                minimum["v"] = max(minimum["v"], Decimal(frame["data"]["minimum_bid"]))

        client.handlers.append(track)
        try:
            await client.connect()
            snap = await client.subscribe(topic)
            minimum["v"] = Decimal((snap.get("snapshot") or {}).get("minimum_bid") or "1.00")
            await asyncio.sleep(duration * 2 / 3 * rng.uniform(0.9, 1.0))  # wait for the final third
            deadline = time.monotonic() + duration / 3 + 5
            while time.monotonic() < deadline:
                amount = minimum["v"] + Decimal("0.25") * rng.randint(0, 2)
                t0 = time.perf_counter()
                try:
                    reply = await client.command(topic, "bid", {"max_amount": f"{amount:.2f}"})
                    key = (topic, reply["version"])
                    if key in early:
                        stats.latency("bidders: bid → watcher", (early.pop(key) - t0) * 1000)
                    else:
                        sent[key] = t0
                    minimum["v"] = max(minimum["v"], Decimal(reply["minimum_bid"]))
                    stats.count("bidders", "accepted bids")
                except ProtocolError as exc:
                    if exc.code == "auction_ended":
                        break
                await asyncio.sleep(rng.uniform(0.5, 1.5))
        finally:
            await client.close()

    auctions = sorted({(a.extra["auction"], a.extra["watch_token"]) for a in actors})
    await asyncio.gather(*(watcher(aid, tok) for aid, tok in auctions), *(one(a) for a in actors))


register("bidders", setup_bidders, run_bidders)
