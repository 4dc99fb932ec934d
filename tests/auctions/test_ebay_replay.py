"""The real eBay bid histories (``bench/data/ebay-auctions.csv``, 628 auctions, 10,681 bids;
origin in ``bench/data/README.md``) replayed through ``auction_place_bid`` with wallet holds on,
one bid after another, then closed by ``auction_close``.

Every bid gets the answer the pure rules (``auctions.rules``) give in the same order (accepted,
or refused as ``bid_too_low``), every auction closes at the rules' price, every auction the
rules explain (their price is eBay's recorded final price) closes at eBay's price, and once all
are closed no money is left held: each lead change moved the holds exactly (the set-based
``wallets_set_holds`` of a bid).

``make test`` replays every 10th recorded auction (63 auctions, about 30 s; 56 of them explained by the rules);
``EBAY_REPLAY_STRIDE=1 make test ARGS=tests/auctions/test_ebay_replay.py`` replays all 628
(about 3.5 minutes on the 2-core machine; on 2026-11-24: 594 of the 628 explained by the rules,
all 594 closed at eBay's price)."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from auctions import rules, services
from auctions.models import Auction, AuctionResult
from bench.hot.data import load_auctions
from commerce.wallet.models import LedgerEntry, Wallet
from core.exceptions import ApplicationError
from tests.factories.commerce import VendorFactory
from tests.factories.core import AddressFactory, AdminFactory, UserFactory
from tests.factories.orders import funded_wallet

pytestmark = pytest.mark.django_db

STRIDE = int(os.environ.get("EBAY_REPLAY_STRIDE", "10"))


def rules_replay(history) -> tuple[list[bool], Decimal | None]:
    """Which bids the rules accept, in order, and the price they end at."""
    standing, leader, price, accepted = rules.Standing(None, None), None, None, []
    for b in history.bids:
        is_leader = leader == b.bidder
        ok = (b.max_bid > standing.leader_max) if is_leader else b.max_bid >= rules.minimum_bid(price, start_price=history.open_bid)
        accepted.append(ok)
        if ok:
            standing, leads = rules.apply_bid(standing, is_leader=is_leader, max_amount=b.max_bid)
            leader = b.bidder if leads else leader
            price = rules.current_price(standing, start_price=history.open_bid, reserve=None)
    return accepted, price


def test_every_recorded_ebay_auction_closes_at_the_rules_price_and_the_explainable_ones_at_ebays():
    recorded = load_auctions()
    assert len(recorded) == 628
    histories = recorded[::STRIDE]
    vendor, admin = VendorFactory(), AdminFactory()
    users = {}
    for name in sorted({b.bidder for h in histories for b in h.bids}):
        users[name] = UserFactory()
        AddressFactory(user=users[name], is_default_shipping=True)
        funded_wallet(users[name], "1000000.00")
    now = timezone.now()
    explained = matched = 0
    mismatches = []
    ids = []
    for h in histories:
        auction = services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title=h.item, start_price=h.open_bid,
                                          ends_at=now + timedelta(days=1), soft_close_window_seconds=1,
                                          soft_close_extension_seconds=1)
        services.auction_approve(user=admin, auction_id=auction.pk)
        ids.append(auction.pk)
        answers = []
        for b in h.bids:
            try:
                services.auction_place_bid(auction_id=auction.pk, bidder=users[b.bidder], max_amount=b.max_bid)
                answers.append(True)
            except ApplicationError as exc:
                assert exc.code == "bid_too_low", (h.id, exc.code)
                answers.append(False)
        expected, price = rules_replay(h)
        if answers != expected:
            mismatches.append(h.id)
        assert services.auction_close(auction_id=auction.pk, now=now + timedelta(days=2))
        auction.refresh_from_db()
        assert auction.result == AuctionResult.SOLD and auction.final_price == price, h.id
        if price == h.final_price:
            explained += 1
            matched += auction.final_price == h.final_price
    assert mismatches == []
    # the rules explain most of eBay's prices (the rest had reserves or retractions not in the data)
    assert matched == explained and explained >= 0.85 * len(histories), (matched, explained)
    assert Auction.objects.filter(pk__in=ids, result=AuctionResult.SOLD).count() == len(histories)
    # every hold was captured into a payment or released: nothing stays held, and the ledger
    # sums to the balances
    bidders = Wallet.objects.filter(user__in=users.values())
    assert bidders.aggregate(h=Sum("held_balance"))["h"] == Decimal("0.00")
    ledger = LedgerEntry.objects.filter(wallet__in=bidders).aggregate(b=Sum("amount"), h=Sum("held_amount"))
    assert (ledger["b"], ledger["h"]) == (bidders.aggregate(b=Sum("balance"))["b"], Decimal("0.00"))
