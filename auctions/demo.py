"""Demo auctions: a live one ending 30 minutes after seeding (with two opening bids from demo
buyers) and a scheduled one starting in an hour, on the first two demo stores. Idempotent: a new
live one is made only when no demo auction is live (the old one ended), likewise scheduled."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from auctions import services
from auctions.models import Auction, AuctionStatus

TITLE_LIVE = "Demo: 1967 Mustang chrome grille"
TITLE_SCHEDULED = "Demo: Bosch distributor, new old stock"


def seed(ctx) -> None:
    admin, v1, v2 = ctx.users.get("admin"), ctx.vendors.get("vendor1"), ctx.vendors.get("vendor2")
    if admin is None or v1 is None or v2 is None:
        return
    now = timezone.now()
    made = []
    if not Auction.objects.filter(title=TITLE_LIVE, status=AuctionStatus.LIVE).exists():
        a = services.auction_create(user=v1.owner, vendor_id=v1.pk, title=TITLE_LIVE, start_price="20.00",
                                    reserve_price="60.00", buy_now_price="250.00", ends_at=now + timedelta(minutes=30),
                                    description="Original grille, light pitting, ships in a crate.")
        services.auction_approve(user=admin, auction_id=a.pk)
        for short, amount in (("buyer3", "35.00"), ("buyer1", "42.00")):  # buyer1 leads; buyer3 never led (no outbid)
            if ctx.users.get(short):
                services.auction_place_bid(auction_id=a.pk, bidder=ctx.users[short], max_amount=amount)
        made.append(a)
    if not Auction.objects.filter(title=TITLE_SCHEDULED, status=AuctionStatus.SCHEDULED).exists():
        a = services.auction_create(user=v2.owner, vendor_id=v2.pk, title=TITLE_SCHEDULED, start_price="15.00",
                                    starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=3))
        services.auction_approve(user=admin, auction_id=a.pk)
        made.append(a)
    ctx.count("auctions", len(made))
    live = Auction.objects.filter(title=TITLE_LIVE, status=AuctionStatus.LIVE).first()
    if live:
        ctx.summary.append(f"Auction live until {live.ends_at:%H:%M} UTC: {live.title} (auction:{live.pk})")
