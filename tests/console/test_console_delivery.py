"""The console's delivery map in a real browser: the buyer watches the courier move as positions
arrive, with distance and ETA; at delivery the buyer's tracking ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import services
from tests.console.conftest import shot, sign_in
from tests.factories.core import PASSWORD
from tests.factories.delivery import PICK, courier, point, ready_delivery

pytestmark = pytest.mark.live


def test_the_buyer_watches_the_courier_move_on_the_map(browser, console, dj):
    d = ready_delivery()
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="picked_up")
    now = timezone.now()
    services.delivery_ingest_locations(courier=c, delivery_id=d.pk, points=[point(now - timedelta(seconds=10), *PICK)],
                                       now=now - timedelta(seconds=10))  # the 2 s broadcast window is open again by now
    buyer = d.order.buyer
    page = browser.page()
    sign_in(page, console, buyer.email, PASSWORD)
    page.wait_for_selector(f"#panel-delivery .courier[data-lat='{PICK[0]}']")
    page.wait_for_selector("#panel-delivery .eta:not([data-eta=''])")

    moved = PICK[0] + 0.002  # ~220 m north, 10 s later: a plausible 22 m/s
    dj(services.delivery_ingest_locations, courier=c, delivery_id=d.pk, points=[point(now, moved, PICK[1])])
    page.wait_for_selector(f"#panel-delivery .courier[data-lat='{moved}']", timeout=2000)
    shot(page.locator("#panel-delivery"), "delivery-map")

    dj(services.delivery_complete, courier=c, delivery_id=d.pk, pin=d.pin)
    page.wait_for_selector("#panel-delivery :text('Tracking ended')")
    assert page.errors == []
