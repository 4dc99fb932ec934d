"""Issue 13, table rows 1 (second half), 12 and 15: data that leaked to people who should not see it.

Row 1: store owner ids were public in ``GET /vendors/`` (``owner_id``). Row 12: a pending or
cancelled auction answered ``POST …/watch/`` with 200 and a socket subscription got its title and
description, while REST answered 404. Row 15: ``GET /deliveries/?open=1`` gave any courier the
exact drop-off coordinates of every unclaimed delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from auctions import services as auction_services
from delivery import geo
from realtime import registry
from tests.conftest import client_for, tokens_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AddressFactory, AdminFactory, UserFactory
from tests.factories.delivery import courier, ready_delivery
from tests.live import WSClient


def pending_and_cancelled_auctions():
    vendor = VendorFactory()
    ends = timezone.now() + timedelta(hours=2)
    pending = auction_services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title="Secret lamp",
                                              description="Not approved yet", start_price="5.00", ends_at=ends,
                                              starts_at=timezone.now() + timedelta(hours=1))
    other = auction_services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title="Withdrawn horn",
                                            description="Cancelled by the store", start_price="5.00", ends_at=ends,
                                            starts_at=timezone.now() + timedelta(hours=1))
    cancelled = auction_services.auction_cancel(user=vendor.owner, auction_id=other.pk)
    assert (pending.status, cancelled.status) == ("pending_approval", "cancelled")
    return vendor, pending, cancelled


@pytest.mark.django_db
def test_row1_store_owner_ids_are_not_public():
    """Row 1: no `owner_id` for anonymous visitors or other users; the store's staff and admins
    still see it."""
    vendor = VendorFactory()
    anon = client_for(UserFactory())
    anon.credentials()
    other_store = VendorFactory()
    for client in (anon, client_for(UserFactory()), client_for(other_store.owner)):
        listed = {v["id"]: v for v in client.get("/api/v1/vendors/").json()["results"]}
        assert "owner_id" not in listed[str(vendor.pk)]
        assert "owner_id" not in client.get(f"/api/v1/vendors/{vendor.pk}/").json()
        assert str(vendor.owner_id) not in client.get("/api/v1/vendors/").content.decode()
    assert listed[str(other_store.pk)]["owner_id"] == str(other_store.owner_id)  # the last client's own store
    staff = VendorStaffFactory(vendor=vendor).user
    for who in (vendor.owner, staff, AdminFactory()):
        assert client_for(who).get(f"/api/v1/vendors/{vendor.pk}/").json()["owner_id"] == str(vendor.owner_id)


@pytest.mark.django_db
def test_row12_pending_and_cancelled_auctions_cannot_be_watched_or_subscribed():
    """Row 12: watch → 404 like the detail; the topic refuses the subscription and gives no
    snapshot; the store's staff and admins keep access."""
    vendor, pending, cancelled = pending_and_cancelled_auctions()
    stranger = UserFactory()
    topic = registry.get_topic("auction")
    for auction in (pending, cancelled):
        c = client_for(stranger)
        for method in (c.post, c.delete):
            r = method(f"/api/v1/auctions/{auction.pk}/watch/")
            assert r.status_code == 404 and r.json()["code"] == "auction_not_found"
        assert c.get(f"/api/v1/auctions/{auction.pk}/").status_code == 404
        r = c.post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "10.00"}, format="json")
        assert r.status_code == 404
        assert topic.authorize(user=stranger, key=str(auction.pk)) is False
        with pytest.raises(Exception) as exc:
            topic.snapshot(user=stranger, key=str(auction.pk))
        assert getattr(exc.value, "code", None) == "forbidden"
        for insider in (vendor.owner, AdminFactory()):
            assert topic.authorize(user=insider, key=str(auction.pk)) is True
            assert topic.snapshot(user=insider, key=str(auction.pk))["title"] == auction.title
            assert client_for(insider).post(f"/api/v1/auctions/{auction.pk}/watch/").status_code == 200
    assert not pending.watches.exclude(user__in=[vendor.owner]).filter(user=stranger).exists()


@pytest.mark.live
def test_row12_a_socket_subscription_to_a_pending_auction_is_forbidden(live):
    """Row 12 over a real socket: `forbidden`, and neither title nor description in any frame."""
    vendor, pending, cancelled = pending_and_cancelled_auctions()
    ws = WSClient(live.ws_url)
    ws.auth(tokens_for(UserFactory())["access"])
    for auction in (pending, cancelled):
        reply = ws.request("subscribe", topic=f"auction:{auction.pk}")
        assert reply["status"] == "error" and reply["error"]["code"] == "forbidden"
        assert auction.title not in str(reply) and auction.description not in str(reply)
    owner = WSClient(live.ws_url)
    owner.auth(tokens_for(vendor.owner)["access"])
    ok = owner.request("subscribe", topic=f"auction:{pending.pk}")
    assert ok["status"] == "ok" and ok["data"]["snapshot"]["title"] == "Secret lamp"
    ws.close()
    owner.close()


@pytest.mark.django_db
def test_row15_open_deliveries_show_couriers_a_coarse_area_until_they_claim():
    """Row 15: the open list and the detail of an unclaimed delivery give the pickup point and a
    drop-off area (a 1 km grid cell's centre and the city), never the exact point, the street or
    the PIN; the courier who claims it gets the exact point."""
    home = (52.531234, 13.412345)
    buyer = UserFactory()
    AddressFactory(user=buyer, is_default_shipping=True, latitude=str(home[0]), longitude=str(home[1]),
                   line1="Torstraße 99")
    d = ready_delivery(buyer=buyer)
    order = d.order
    assert (d.dropoff_lat, d.dropoff_lon) == home
    c = client_for(courier())
    listed = c.get("/api/v1/deliveries/?open=1&lat=52.5&lon=13.4").json()
    item = next(x for x in listed if x["id"] == str(d.pk))
    detail = c.get(f"/api/v1/deliveries/{d.pk}/").json()
    for view in (item, detail):
        text = str(view)
        assert "dropoff" not in view and "pin" not in view and "qr_token" not in view
        assert str(d.dropoff_lat) not in text and str(d.dropoff_lon) not in text
        assert order.shipping_address["line1"] not in text and d.pin not in text.replace(order.number, "")
        area = view["dropoff_area"]
        off = geo.haversine_m(area["lat"], area["lon"], *home)
        assert 1 < off <= 0.71 * area["cell_m"] and area["cell_m"] == 1000
        assert area["city"] == order.shipping_address["city"]
        assert view["pickup"] == {"lat": d.pickup_lat, "lon": d.pickup_lon}
    claimed = c.post(f"/api/v1/deliveries/{d.pk}/claim/").json()
    assert claimed["dropoff"] == {"lat": home[0], "lon": home[1]}
    assert c.get(f"/api/v1/deliveries/{d.pk}/").json()["dropoff"] == {"lat": home[0], "lon": home[1]}
    assert "pin" not in claimed
