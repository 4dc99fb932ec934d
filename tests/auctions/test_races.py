"""Auction races with real threads on PostgreSQL: 500 bids from 50 bidders end in the state a
one-by-one replay of the accepted bids in commit order gives; one buy-it-now wins; the closer
run concurrently makes one order."""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal as D

import pytest
from django.db import connection, transaction

from auctions import rules, services
from auctions.models import Auction, Bid
from commerce.orders.models import Order
from commerce.wallet.models import Wallet
from commerce.wallet.services import wallet_check_ledger
from core.exceptions import ApplicationError
from tests.factories.auctions import bidder, live_auction

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n, target):
    barrier = threading.Barrier(n)
    out: Counter[str] = Counter()
    lock = threading.Lock()

    def wrapper(i):
        try:
            barrier.wait()
            result = target(i)
        except ApplicationError as exc:
            result = exc.code
        finally:
            connection.close()
        with lock:
            out[result] += 1

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_500_concurrent_bids_match_a_replay_in_commit_order():
    auction = live_auction(start="1.00")
    bidders = [bidder("100000.00") for _ in range(50)]
    rng = random.Random(5)
    # rising maxima with jitter: threads overtake each other, so some bids lose the race to a
    # higher one and are refused (bid_too_low), most are accepted
    plan = [(bidders[rng.randrange(50)], D(200 + i * 100 + rng.randint(-300, 300)) / 100) for i in range(500)]
    queue = list(plan)
    lock = threading.Lock()

    def worker(_i):
        while True:
            with lock:
                if not queue:
                    return "done"
                who, amount = queue.pop(0)
            try:
                services.auction_place_bid(auction_id=auction.pk, bidder=who, max_amount=amount)
            except ApplicationError:
                pass  # refused (bid_too_low / insufficient): changes nothing

    run_threads(16, worker)
    auction.refresh_from_db()
    accepted = list(Bid.objects.filter(auction=auction).order_by("version"))
    assert auction.bid_count == len(accepted) >= 50  # typically 100-200; fewer on a loaded machine
    standing, leader = rules.Standing(None, None), None
    for b in accepted:  # replay in commit order (the version each bid produced)
        standing, leads = rules.apply_bid(standing, is_leader=b.bidder_id == leader, max_amount=b.max_amount)
        leader = b.bidder_id if leads else leader
        assert rules.current_price(standing, start_price=D("1.00"), reserve=None) == b.price_after
    assert (auction.leader_id, auction.leader_max, auction.second_max) == (leader, standing.leader_max, standing.second_max)
    assert auction.current_price == accepted[-1].price_after
    assert [b.version for b in accepted] == sorted(b.version for b in accepted)
    # only the leader holds money, exactly their maximum; every ledger sums to its wallet
    holds = {w.user_id: w.held_balance for w in Wallet.objects.filter(held_balance__gt=0)}
    assert holds == {leader: auction.leader_max}
    for w in Wallet.objects.all():
        assert wallet_check_ledger(wallet=w).ok


def test_concurrent_buy_now_makes_one_order():
    auction = live_auction(start="10.00", buy_now="50.00")
    buyers = [bidder() for _ in range(12)]
    out = run_threads(12, lambda i: services.auction_buy_now(auction_id=auction.pk, buyer=buyers[i]) and "bought")
    assert out["bought"] == 1 and sum(out.values()) == 12
    assert Order.objects.count() == 1
    assert Wallet.objects.filter(held_balance__gt=0).count() == 0


def test_the_closer_run_concurrently_makes_one_order():
    auction = live_auction(start="10.00")
    services.auction_place_bid(auction_id=auction.pk, bidder=bidder(), max_amount="30.00")
    end = Auction.objects.get(pk=auction.pk).ends_at
    out = run_threads(8, lambda i: "closed" if services.auction_close(auction_id=auction.pk, now=end) else "noop")
    assert out == Counter({"closed": 1, "noop": 7})
    assert Order.objects.count() == 1


def test_a_bid_below_the_minimum_is_refused_without_waiting_for_the_auctions_lock_and_a_good_one_waits():
    auction = live_auction(start="10.00")
    a, b, c = bidder(), bidder(), bidder()
    services.auction_place_bid(auction_id=auction.pk, bidder=a, max_amount="50.00")
    services.auction_place_bid(auction_id=auction.pk, bidder=b, max_amount="30.00")  # price 31.00, minimum 32.00
    holding, release = threading.Event(), threading.Event()

    def hold_the_row():  # another bid's transaction, in the middle of its work
        try:
            with transaction.atomic():
                Auction.objects.select_for_update().get(pk=auction.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert holding.wait(10)
    outcome: dict[str, object] = {}

    def bid(name, user, amount):
        try:
            outcome[name] = services.auction_place_bid(auction_id=auction.pk, bidder=user, max_amount=amount).leading
        except ApplicationError as exc:
            outcome[name] = exc.code
        finally:
            connection.close()

    low = threading.Thread(target=bid, args=("low", c, "31.50"))
    low.start()
    low.join(10)
    assert outcome == {"low": "bid_too_low"}  # answered while the row is still locked
    good = threading.Thread(target=bid, args=("good", c, "60.00"))
    good.start()
    good.join(1)
    assert good.is_alive() and "good" not in outcome  # a possible winner queues for the lock
    release.set()
    good.join(10)
    holder.join(10)
    assert outcome["good"] is True
    auction.refresh_from_db()
    assert (auction.leader_id, auction.current_price, auction.bid_count) == (c.pk, D("51.00"), 3)
    assert Bid.objects.filter(auction=auction, bidder=c).count() == 1
