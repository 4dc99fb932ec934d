"""Chat demo data (run by ``manage.py seed_demo`` after ``commerce.demo``): buyer1 asks
vendor1's store about a product, buyer2 asks vendor2's store; a few messages each, one of which
shows contact-detail masking. Idempotent: a conversation that already has messages is left alone."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from chat import services
from chat.models import ContextType
from commerce.catalog.models import Product
from commerce.stores.models import Vendor
from core.models import User

DOMAIN = "demo.market"

#: (buyer email, vendor owner email, product SKU, [(side, text)], buyer reads up to)
CONVERSATIONS: list[tuple[str, str, str, list[tuple[str, str]], int]] = [
    (
        f"buyer1@{DOMAIN}", f"vendor1@{DOMAIN}", "RAP-0001",
        [
            ("buyer", "Hi! Does this fit a 2016 VW Golf VII 1.4 TSI?"),
            ("vendor", "Hello Bruno, yes — it fits the 1.4 TSI (CZCA engine). Orders before 3 pm ship today."),
            ("buyer", "Great. Could you call me at +49 170 1234567 or write to bruno.buyer@example.com?"),
            ("vendor", "Please keep the conversation here so we can help you and your order stays protected."),
            ("buyer", "Sure. Do you also have the matching air filter?"),
            ("vendor", "Yes, RAP-0002 fits the same engine; we can ship both together."),
        ],
        5,
    ),
    (
        f"buyer2@{DOMAIN}", f"vendor2@{DOMAIN}", "EMS-0002",
        [
            ("buyer", "Hello, is this in stock for delivery to Munich this week?"),
            ("vendor", "Hi Bea, yes, 12 in stock; DHL delivery takes 1–2 working days."),
        ],
        2,
    ),
]


def _get(email: str) -> User | None:
    return User.objects.filter(email=email).first()


def seed(ctx: Any = None, *, stdout: Any = None) -> None:
    """Create the demo conversations (idempotent; messages only in an empty conversation)."""
    made_convs = made_msgs = 0
    for buyer_email, owner_email, sku, lines, read_up_to in CONVERSATIONS:
        buyer, owner = _get(buyer_email), _get(owner_email)
        vendor = Vendor.objects.filter(owner=owner).order_by("created_at").first() if owner else None
        product = Product.objects.alive().filter(vendor=vendor, sku=sku).first() if vendor else None
        if buyer is None or product is None:
            continue
        with transaction.atomic():
            result = services.conversation_start(
                user=buyer, vendor_id=vendor.pk, context_type=ContextType.PRODUCT, context_id=product.pk
            )
            conversation = result.conversation
            made_convs += int(result.created)
            if conversation.last_seq:
                continue
            for i, (side, text) in enumerate(lines, start=1):
                sender = buyer if side == "buyer" else owner
                services.message_send(
                    user=sender, conversation_id=conversation.pk, text=text, client_msg_id=f"demo-{i}",
                    enforce_rate_limit=False, notify_offline=False,
                )
                made_msgs += 1
            services.conversation_mark_read(user=buyer, conversation_id=conversation.pk, up_to_seq=read_up_to)
    if ctx is not None:
        ctx.count("chat conversations", made_convs)
        ctx.count("chat messages", made_msgs)
        ctx.summary.append("Chat: buyer1 ↔ Rapid Auto Parts and buyer2 ↔ Euro Motor Supply about a product "
                           "(GET /api/v1/chat/conversations/)")
    elif stdout is not None:
        stdout.write(f"chat demo: {made_convs} conversations, {made_msgs} messages created")
