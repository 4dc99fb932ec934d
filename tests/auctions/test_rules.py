"""The bidding rules (README, "Auctions"; ``auctions.rules``) with worked numbers (pure functions, no database)."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from auctions import rules
from auctions.rules import Standing


@pytest.mark.parametrize(
    "price, step",
    [("0.01", "0.05"), ("0.99", "0.05"), ("1.00", "0.25"), ("4.99", "0.25"), ("5.00", "0.50"), ("24.99", "0.50"),
     ("25.00", "1.00"), ("99.99", "1.00"), ("100.00", "2.50"), ("249.99", "2.50"), ("250.00", "5.00"),
     ("499.99", "5.00"), ("500.00", "10.00"), ("999.99", "10.00"), ("1000.00", "25.00"), ("2499.99", "25.00"),
     ("2500.00", "50.00"), ("4999.99", "50.00"), ("5000.00", "100.00"), ("123456.00", "100.00")],
)
def test_increment_boundaries_follow_ebays_table(price, step):
    assert rules.increment(D(price)) == D(step)


def price(leader, second, start="10.00", reserve=None):
    return rules.current_price(Standing(D(leader) if leader else None, D(second) if second else None),
                               start_price=D(start), reserve=D(reserve) if reserve else None)


def test_first_bid_sets_the_start_price_and_the_minimum_is_the_start_price_before():
    assert rules.minimum_bid(None, start_price=D("10.00")) == D("10.00")
    assert price("50.00", None) == D("10.00")
    assert rules.minimum_bid(D("10.00"), start_price=D("10.00")) == D("10.50")


def test_second_highest_plus_one_increment_capped_at_the_leaders_maximum():
    assert price("50.00", "20.00") == D("20.50")  # 20.00 + 0.50
    assert price("50.00", "24.99") == D("25.49")  # increment at 24.99 is 0.50
    assert price("50.00", "25.00") == D("26.00")  # increment at 25.00 is 1.00
    assert price("30.20", "30.00") == D("30.20")  # 31.00 capped at the leader's 30.20


def test_equal_maxima_the_earlier_leads_at_that_maximum():
    s, leads = rules.apply_bid(Standing(D("30.00"), None), is_leader=False, max_amount=D("30.00"))
    assert not leads and s == Standing(D("30.00"), D("30.00"))
    assert rules.current_price(s, start_price=D("10.00"), reserve=None) == D("30.00")


def test_a_higher_maximum_takes_the_lead_and_the_old_leader_becomes_second():
    s, leads = rules.apply_bid(Standing(D("30.00"), D("12.00")), is_leader=False, max_amount=D("45.00"))
    assert leads and s == Standing(D("45.00"), D("30.00"))
    assert rules.current_price(s, start_price=D("10.00"), reserve=None) == D("31.00")


def test_a_leader_raising_their_maximum_does_not_change_the_price():
    before = Standing(D("30.00"), D("20.00"))
    after, leads = rules.apply_bid(before, is_leader=True, max_amount=D("80.00"))
    assert leads and after == Standing(D("80.00"), D("20.00"))
    assert rules.current_price(after, start_price=D("10.00"), reserve=None) == rules.current_price(
        before, start_price=D("10.00"), reserve=None) == D("20.50")


def test_reserve_not_met_then_met():
    assert rules.reserve_met(Standing(D("40.00"), None), D("50.00")) is False
    assert price("40.00", "15.00", reserve="50.00") == D("15.50")  # normal rule while not met
    assert rules.reserve_met(Standing(D("60.00"), D("15.00")), D("50.00")) is True
    assert price("60.00", "15.00", reserve="50.00") == D("50.00")  # at least the reserve once met
    assert price("60.00", "55.00", reserve="50.00") == D("56.00")
    assert price("50.00", None, reserve="50.00") == D("50.00")
    assert rules.reserve_met(Standing(None, None), None) is None


UTC = timezone.utc
END = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
HARD = END + timedelta(minutes=5)


def test_soft_close_inside_and_outside_the_window_and_the_hard_end_cap():
    kw = dict(ends_at=END, hard_end=HARD, window_s=120, extension_s=120)
    assert rules.soft_close_end(bid_at=END - timedelta(seconds=121), **kw) == END  # outside the window
    assert rules.soft_close_end(bid_at=END - timedelta(seconds=30), **kw) == END + timedelta(seconds=90)
    assert rules.soft_close_end(bid_at=END - timedelta(seconds=120), **kw) == END  # bid + 120 s == end
    late = dict(kw, ends_at=HARD - timedelta(seconds=10))
    assert rules.soft_close_end(bid_at=HARD - timedelta(seconds=5), **late) == HARD  # capped
    # a short extension inside a long window never moves the end earlier
    assert rules.soft_close_end(bid_at=END - timedelta(seconds=100), ends_at=END, hard_end=HARD,
                                window_s=300, extension_s=30) == END
