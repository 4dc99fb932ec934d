"""Chat in the simulator (``manage.py simulate``): the ``chats`` scenario — buyer–vendor pairs;
each side sends a message every ~3 s with a ``client_msg_id``, the other side measures send →
``chat.message`` latency and sends read receipts."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from chat.events import CHAT_TOPIC
from chat.services import conversation_start
from commerce.catalog.models import Product
from commerce.simulation import sim_store
from simulator.client import ProtocolError, SimClient, Stats
from simulator.scenarios import Actor, access_token, register, sim_users


def setup_chats(n: int) -> list[Actor]:
    """``n`` buyer–vendor pairs: each buyer opens a conversation with the sim store."""
    vendor = sim_store()
    product = Product.objects.filter(vendor=vendor).order_by("sku").first()
    actors = []
    vendor_token = access_token(vendor.owner)
    for user in sim_users("chat", n):
        result = conversation_start(user=user, vendor_id=vendor.pk, context_type="product", context_id=product.pk)
        conversation = getattr(result, "conversation", result)
        actors.append(Actor(str(user.pk), access_token(user), {"conversation": str(conversation.pk),
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
        topic = CHAT_TOPIC.name(actor.extra['conversation'])
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


register("chats", setup_chats, run_chats)
