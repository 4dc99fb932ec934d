"""Auctions: the listing, its participants (stable pseudonyms), every accepted maximum bid, and
watchers. Rules live in ``auctions.rules`` (pure) and ``auctions.services`` (locks, money).

Money is ``Decimal`` with two places in the auction's ``currency``; times are aware UTC.
``reserve_price`` and every bidder's maximum are private: only ``reserve_met`` and the price are
shown (the bidder sees their own maximum).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.fsm import StateMachine


class AuctionStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"


S = AuctionStatus
#: allowed status transitions; anything else is ``invalid_transition`` (409)
AUCTION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_APPROVAL: frozenset({S.SCHEDULED, S.LIVE, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.LIVE, S.CANCELLED}),
    S.LIVE: frozenset({S.ENDED, S.CANCELLED}),
    S.ENDED: frozenset(),
    S.CANCELLED: frozenset(),
}
del S

#: the auction's state machine (``core.fsm``); only ``auctions.services`` moves it
AUCTION_MACHINE = StateMachine("auction", AUCTION_TRANSITIONS)


class AuctionResult(models.TextChoices):
    SOLD = "sold", "Sold"
    UNSOLD = "unsold", "Unsold"


class Auction(models.Model):
    """A live auction of one item by a vendor. ``ends_at`` is the effective end (soft close moves
    it, never past ``hard_end``). ``leader_max`` / ``second_max`` are the proxy-bidding standing
    (private); ``current_price`` is derived from them by ``auctions.rules.current_price``.
    ``version`` grows by one per change (bids, extensions, status)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey("commerce.Vendor", on_delete=models.PROTECT, related_name="auctions")
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="auctions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    start_price = models.DecimalField(max_digits=12, decimal_places=2)
    reserve_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    buy_now_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    scheduled_end = models.DateTimeField(help_text="ends_at as listed, before any soft-close extension")
    hard_end = models.DateTimeField()
    soft_close_window_seconds = models.PositiveIntegerField(default=120)
    soft_close_extension_seconds = models.PositiveIntegerField(default=120)
    status = models.CharField(max_length=20, choices=AuctionStatus.choices, default=AuctionStatus.PENDING_APPROVAL)
    result = models.CharField(max_length=10, choices=AuctionResult.choices, blank=True)
    current_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    leader_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    second_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    bid_count = models.PositiveIntegerField(default=0)
    version = models.BigIntegerField(default=0)
    final_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ending_soon_sent = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ends_at", "id"]
        indexes = [
            models.Index(fields=["status", "ends_at"], name="auctions_status_end"),
            models.Index(fields=["status", "starts_at"], name="auctions_status_start"),
            models.Index(fields=["vendor", "status"], name="auctions_vendor"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(start_price__gt=0), name="auctions_start_price_gt_0"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="auctions_end_after_start"),
            models.CheckConstraint(condition=Q(hard_end__gte=F("ends_at")), name="auctions_end_before_hard_end"),
            models.CheckConstraint(condition=Q(reserve_price__isnull=True) | Q(reserve_price__gte=F("start_price")),
                                   name="auctions_reserve_gte_start"),
            models.CheckConstraint(condition=Q(buy_now_price__isnull=True) | Q(buy_now_price__gt=F("start_price")),
                                   name="auctions_buy_now_gt_start"),
            models.CheckConstraint(condition=Q(soft_close_window_seconds__gte=1) & Q(soft_close_extension_seconds__gte=1),
                                   name="auctions_soft_close_gte_1"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in AuctionStatus]), name="auctions_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class AuctionParticipant(models.Model):
    """A bidder of an auction with a stable pseudonym number ("Bidder 3"), given in order of
    their first bid."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auction_participations")
    number = models.PositiveIntegerField()
    max_amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["auction", "user"], name="auctions_participant_once"),
            models.UniqueConstraint(fields=["auction", "number"], name="auctions_participant_number"),
        ]

    @property
    def pseudonym(self) -> str:
        return f"Bidder {self.number}"


class Bid(models.Model):
    """An accepted maximum bid, kept forever with its time (``created_at``, aware UTC) and the
    auction ``version`` it produced; the price it led to is ``price_after``."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="bids")
    bidder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bids")
    max_amount = models.DecimalField(max_digits=12, decimal_places=2)
    price_after = models.DecimalField(max_digits=12, decimal_places=2)
    leading_after = models.BooleanField()
    version = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["auction", "version"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "version"], name="auctions_bid_version_unique"),
            models.CheckConstraint(condition=Q(max_amount__gt=Decimal("0")), name="auctions_bid_gt_0"),
        ]


class AuctionWatch(models.Model):
    """``user`` watches ``auction`` (gets ``auction.ending_soon`` once)."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="watches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auction_watches")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["auction", "user"], name="auctions_watch_once")]
