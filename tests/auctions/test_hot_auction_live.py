"""One hot auction, 50 bidders at once over real sockets (issue 16, correctness under load).

Fifty bidders, each with a socket of their own subscribed to ``auction:<id>``, bid at the same
time against one Daphne process in the soft-close phase (every bid extends the end, up to the
hard end), some of their bids too low. Afterwards the stored bid rows, replayed one by one
through ``auctions.rules``, must give every bid's stored price and lead and the auction's price,
leader, bid count, end and reserve; the watcher must have seen every accepted bid once, in
order, with a gapless seq; the holds must be the leader's maximum only; closing must sell once,
at the replayed price.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from auctions import rules, services
from auctions.models import Auction, AuctionResult, AuctionStatus, Bid
from commerce.orders.models import Order
from commerce.wallet.models import HoldStatus, WalletHold
from tests.conftest import tokens_for
from tests.factories.auctions import bidder, live_auction
from tests.live import WSClient

pytestmark = pytest.mark.live

BIDDERS = 50
BIDS_EACH = 10  # the bid bucket's burst per connection


def bid_loop(ws_url: str, token: str, topic: str, seed: int) -> list[dict]:
    """One bidder: subscribe, then bid ``BIDS_EACH`` times (the socket's burst of bids) a little
    above the minimum bid the last reply, accepted or refused, (or the snapshot) gave, now and
    then just under it; returns the replies."""
    rng = random.Random(seed)
    client = WSClient(ws_url, timeout=30)
    try:
        client.auth(token)
        sub = client.request("subscribe", topic=topic)
        assert sub["status"] == "ok", sub
        minimum = Decimal(sub["data"]["snapshot"]["minimum_bid"])
        replies = []
        for _ in range(BIDS_EACH):
            # a proxy maximum a little above the (maybe stale) minimum; one in six just under it
            low = rng.random() < 1 / 6
            amount = minimum - Decimal("0.01") if low else minimum + Decimal(rng.randint(0, 400)) / 4
            reply = client.request("command", topic=topic, name="bid", data={"max_amount": f"{amount:.2f}"})
            replies.append(reply)
            fresh = reply["data"]["minimum_bid"] if reply["status"] == "ok" else reply["error"].get("minimum_bid")
            minimum = Decimal(fresh or minimum)
        return replies
    finally:
        client.close()
        connection.close()


def replay(auction: Auction, bids: list[Bid]) -> dict:
    """The end state the rules give for ``bids`` applied one after another (version order)."""
    standing, leader, price, ends_at, reserve_met_at = rules.Standing(None, None), None, None, auction.scheduled_end, None
    for n, bid in enumerate(bids, 1):
        is_leader = leader == bid.bidder_id
        assert (bid.max_amount > standing.leader_max) if is_leader else (
            bid.max_amount >= rules.minimum_bid(price, start_price=auction.start_price)), f"bid {n} breaks the rules"
        standing, leads = rules.apply_bid(standing, is_leader=is_leader, max_amount=bid.max_amount)
        leader = bid.bidder_id if leads else leader
        price = rules.current_price(standing, start_price=auction.start_price, reserve=auction.reserve_price)
        assert (bid.price_after, bid.leading_after, bid.version) == (price, leads, bids[0].version + n - 1), f"bid {n}"
        ends_at = rules.soft_close_end(ends_at=ends_at, hard_end=auction.hard_end, bid_at=bid.created_at,
                                       window_s=auction.soft_close_window_seconds,
                                       extension_s=auction.soft_close_extension_seconds)
        if reserve_met_at is None and rules.reserve_met(standing, auction.reserve_price):
            reserve_met_at = n
    return {"price": price, "leader": leader, "leader_max": standing.leader_max, "ends_at": ends_at,
            "reserve_met_at": reserve_met_at}


def test_fifty_concurrent_bidders_end_at_the_price_a_sequential_replay_gives(live):
    # Soft-close phase: every bid is within the window, extends the end by 2 minutes, and the
    # hard end (10 minutes on) caps the extensions.
    auction = live_auction(start="10.00", reserve="60.00", ends_in=timedelta(minutes=5),
                           hard_end_after=timedelta(minutes=5), window=600, extension=120)
    topic = f"auction:{auction.pk}"
    users = [bidder(amount="100000.00") for _ in range(BIDDERS)]
    tokens = [tokens_for(u)["access"] for u in users]
    watcher = WSClient(live.ws_url, timeout=30)
    watcher.auth(tokens_for(auction.vendor.owner)["access"])
    assert watcher.request("subscribe", topic=topic)["status"] == "ok"

    with ThreadPoolExecutor(max_workers=BIDDERS) as pool:
        results = list(pool.map(lambda i: bid_loop(live.ws_url, tokens[i], topic, i), range(BIDDERS)))
    replies = [r for rs in results for r in rs]
    accepted = [r for r in replies if r["status"] == "ok"]
    refused = [r["error"]["code"] for r in replies if r["status"] == "error"]
    assert set(refused) <= {"bid_too_low"}, refused  # nothing else went wrong under load
    assert len(accepted) >= BIDDERS  # many are: the load is real

    auction.refresh_from_db()
    bids = list(Bid.objects.filter(auction=auction).order_by("version"))
    assert len(bids) == len(accepted) == auction.bid_count
    assert sorted(r["data"]["bid_id"] for r in accepted) == sorted(b.pk for b in bids)
    end = replay(auction, bids)
    assert (auction.current_price, auction.leader_id, auction.leader_max) == (end["price"], end["leader"], end["leader_max"])
    assert auction.ends_at == end["ends_at"] and auction.ends_at <= auction.hard_end
    assert end["reserve_met_at"] is not None

    # The watcher saw each accepted bid once, in version order, on a gapless seq.
    placed = []
    seqs = []
    while len(placed) < len(bids):
        ev = watcher.next_event(topic, timeout=20)
        seqs.append(ev["seq"])
        if ev["type"] == "auction.bid_placed":
            placed.append(ev["data"]["version"])
    assert placed == [b.version for b in bids]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert placed[-1] == auction.version or auction.version > placed[-1]

    # Holds: only the leader's, exactly their maximum.
    holds = list(WalletHold.objects.filter(reference=services.hold_reference(auction.pk), status=HoldStatus.ACTIVE))
    assert [(h.wallet.user_id, h.amount) for h in holds] == [(end["leader"], end["leader_max"])]

    # One winner at the replayed price.
    assert services.auction_close(auction_id=auction.pk, now=auction.ends_at + timedelta(seconds=1))
    assert not services.auction_close(auction_id=auction.pk, now=timezone.now() + timedelta(hours=1))
    auction.refresh_from_db()
    assert (auction.status, auction.result, auction.final_price) == (AuctionStatus.ENDED, AuctionResult.SOLD, end["price"])
    assert Order.objects.filter(buyer_id=end["leader"]).count() == 1
    assert not WalletHold.objects.filter(reference=services.hold_reference(auction.pk), status=HoldStatus.ACTIVE).exists()
    watcher.close()
