"""The console's auction room in a real browser: two bidders in one auction; one bids and the
other sees the new price within 1 s; a bid inside the soft-close window shows the extension;
the countdown runs on the server's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.console.conftest import shot, sign_in, topic_state
from tests.factories.auctions import bidder, live_auction
from tests.factories.core import PASSWORD

pytestmark = pytest.mark.live


def test_two_bidders_one_bids_the_other_sees_the_price_within_a_second(browser, console):
    auction = live_auction(start="10.00", ends_in=timedelta(seconds=90), window=120, extension=120)
    alice, bob = bidder(), bidder()
    pages = []
    for user in (alice, bob):
        page = browser.page()
        sign_in(page, console, user.email, PASSWORD)
        page.wait_for_selector("#panel-auction .price")  # the first live auction opens by itself
        page.wait_for_function(f"consoleApp.rt.topics().some((t) => t.topic === 'auction:{auction.pk}' && t.status === 'live')")
        page.wait_for_selector("#panel-auction .minimum:has-text('10.00')")
        pages.append(page)
    a_page, b_page = pages

    a_page.fill("#panel-auction .bid-input", "25.00")
    a_page.click("#panel-auction button.bid")
    b_page.wait_for_selector("#panel-auction .price[data-price='10.00']", timeout=1000)
    b_page.wait_for_selector("#panel-auction .bid-count:has-text('1')", timeout=1000)
    b_page.wait_for_selector("#panel-auction .leader:has-text('Bidder 1')", timeout=1000)
    # inside the 120 s window: the end moved and both rooms show the extension
    for page in pages:
        page.wait_for_selector("#panel-auction .extended:not([hidden])", timeout=1000)

    b_page.fill("#panel-auction .bid-input", "40.00")
    b_page.click("#panel-auction button.bid")
    a_page.wait_for_selector("#panel-auction .price[data-price='26.00']", timeout=1000)
    a_page.wait_for_selector("#panel-auction .leader:has-text('Bidder 2')", timeout=1000)
    b_page.wait_for_selector("#panel-auction .leader:has-text('Bidder 2 (you)')")
    a_page.wait_for_selector("#panel-auction .leader:text-is('Bidder 2')")  # not "(you)" for the outbid bidder

    # the countdown is driven by server_time, not the browser clock
    offset = a_page.evaluate("consoleApp.rt.clockOffsetMs")
    assert offset is not None and abs(offset) < 5000
    shot(a_page.locator("#panel-auction"), "auction-live")
    for page in pages:
        assert topic_state(page, f"auction:{auction.pk}")["gaps"] == 0
        assert page.errors == []
