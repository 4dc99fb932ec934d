"""Shipping over REST: a store's owner keeps its zones and methods, every other actor is turned
away with the documented code, and what anyone may read."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commerce.shipping.models import ShippingMethod, ShippingZone
from commerce.stores.models import VendorStaffRole
from tests.conftest import client_for
from tests.factories.commerce import (
    ShippingMethodFactory,
    ShippingZoneFactory,
    VendorFactory,
    VendorStaffFactory,
    WeightBandFactory,
)
from tests.factories.core import AdminFactory, UserFactory
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return VendorFactory(shipping=False)


def zones_url(vendor) -> str:
    return f"/api/v1/vendors/{vendor.pk}/shipping-zones/"


def methods_url(vendor) -> str:
    return f"/api/v1/vendors/{vendor.pk}/shipping-methods/"


def test_the_owner_sets_up_zones_and_every_rule(store):
    owner = client_for(store.owner)
    r = owner.post(zones_url(store), {"name": "Germany", "countries": ["de"], "postcodes": ["10*", "20000-22999"]},
                   format="json")
    assert r.status_code == 201, r.json()
    zone = r.json()
    assert zone["countries"] == ["DE"] and zone["postcodes"] == ["10*", "20000-22999"]
    bodies = [
        {"zone_id": zone["id"], "name": "Flat", "rule": "flat", "price": "4.90", "free_above": "50.00"},
        {"zone_id": zone["id"], "name": "Parcel", "rule": "weight",
         "weight_bands": [{"max_weight_g": 5000, "price": "6.50"}, {"max_weight_g": 1000, "price": "4.00"}]},
        {"zone_id": zone["id"], "name": "Courier", "rule": "courier", "price": "3.00", "price_per_km": "1.20",
         "max_distance_m": 15000},
    ]
    for body in bodies:
        r = owner.post(methods_url(store), body, format="json")
        assert r.status_code == 201, r.json()
    parcel = ShippingMethod.objects.get(name="Parcel")
    assert [(b.max_weight_g, b.price) for b in parcel.weight_bands.all()] == [(1000, D("4.00")), (5000, D("6.50"))]
    r = owner.patch(f"{methods_url(store)}{parcel.pk}/", {"is_active": False}, format="json")
    assert r.status_code == 200 and r.json()["is_active"] is False
    # everyone reads the active ones; the store sees all
    assert {m["name"] for m in APIClient().get(methods_url(store)).json()} == {"Flat", "Courier"}
    assert {m["name"] for m in owner.get(methods_url(store)).json()} == {"Flat", "Courier", "Parcel"}


@pytest.mark.parametrize("body,field", [
    ({"name": "X", "countries": ["XX"]}, "countries"),
    ({"name": "X", "countries": []}, "countries"),
    ({"name": "X", "countries": ["DE"], "postcodes": ["20000-1999"]}, "postcodes"),
    ({"name": "X", "rest_of_world": True, "countries": ["DE"]}, "rest_of_world"),
])
def test_bad_zones_are_refused_and_change_nothing(store, body, field):
    r = client_for(store.owner).post(zones_url(store), body, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid", r.json()
    assert field in str(r.json())
    assert not ShippingZone.objects.exists()


@pytest.mark.parametrize("body,field", [
    ({"name": "W", "rule": "weight"}, "weight_bands"),
    ({"name": "C", "rule": "courier", "price": "1.00"}, "price_per_km"),
    ({"name": "F", "rule": "flat", "price": 4.9}, "price"),
    ({"name": "F", "rule": "flat", "price": "-1.00"}, "price"),
    ({"name": "F", "rule": "flat", "price": "1.001"}, "price"),
    ({"name": "W", "rule": "weight", "weight_bands": [{"max_weight_g": 10, "price": "1.00"},
                                                      {"max_weight_g": 10, "price": "2.00"}]}, "weight_bands"),
])
def test_bad_methods_are_refused_and_change_nothing(store, body, field):
    zone = ShippingZoneFactory(vendor=store)
    r = client_for(store.owner).post(methods_url(store), {"zone_id": str(zone.pk), **body}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid", r.json()
    assert field in str(r.json())
    assert not ShippingMethod.objects.exists()


def test_one_rest_of_world_zone_and_no_deleting_a_zone_in_use(store):
    owner = client_for(store.owner)
    assert owner.post(zones_url(store), {"name": "World", "rest_of_world": True}, format="json").status_code == 201
    r = owner.post(zones_url(store), {"name": "World 2", "rest_of_world": True}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "rest_of_world_exists"
    method = ShippingMethodFactory(zone=ShippingZone.objects.get(vendor=store))
    r = owner.delete(f"{zones_url(store)}{method.zone_id}/")
    assert r.status_code == 409 and r.json()["code"] == "zone_in_use"
    assert owner.delete(f"{methods_url(store)}{method.pk}/").status_code == 204
    assert owner.delete(f"{zones_url(store)}{method.zone_id}/").status_code == 204


def writes(vendor, zone, method):
    """Every write endpoint of the room: (verb, url, body)."""
    return [
        ("post", zones_url(vendor), {"name": "Z", "countries": ["FR"]}),
        ("patch", f"{zones_url(vendor)}{zone.pk}/", {"name": "Renamed"}),
        ("delete", f"{zones_url(vendor)}{zone.pk}/", None),
        ("post", methods_url(vendor), {"zone_id": str(zone.pk), "name": "M", "price": "1.00"}),
        ("patch", f"{methods_url(vendor)}{method.pk}/", {"price": "0.01"}),
        ("delete", f"{methods_url(vendor)}{method.pk}/", None),
    ]


def test_wrong_actors_cannot_write_any_endpoint(store):
    zone = ShippingZoneFactory(vendor=store)
    method = ShippingMethodFactory(zone=zone, price=D("4.90"))
    clerk = VendorStaffFactory(vendor=store, role=VendorStaffRole.STAFF).user
    other_owner = VendorFactory(shipping=False).owner
    actors = [(APIClient(), 401, "not_authenticated"), (client_for(UserFactory()), 404, "vendor_not_found"),
              (client_for(other_owner), 404, "vendor_not_found"),
              (client_for(clerk), 403, "store_settings_not_allowed")]
    for client, status, code in actors:
        for verb, url, body in writes(store, zone, method):
            r = getattr(client, verb)(url, body, format="json") if body is not None else getattr(client, verb)(url)
            assert (r.status_code, r.json().get("code")) == (status, code), (verb, url, status, r.json())
    assert list(ShippingZone.objects.values_list("pk", "name", "countries")) == [(zone.pk, zone.name, "DE")]
    assert list(ShippingMethod.objects.values_list("pk", "price")) == [(method.pk, D("4.90"))]


def test_a_marketplace_admin_may_change_any_store(store):
    zone = ShippingZoneFactory(vendor=store)
    r = client_for(AdminFactory()).post(methods_url(store), {"zone_id": str(zone.pk), "name": "M", "price": "2.00"},
                                        format="json")
    assert r.status_code == 201 and ShippingMethod.objects.get().price == D("2.00")


def test_another_stores_zone_cannot_be_used(store):
    foreign = ShippingZoneFactory()
    r = client_for(store.owner).post(methods_url(store), {"zone_id": str(foreign.pk), "name": "M", "price": "1.00"},
                                     format="json")
    assert r.status_code == 404 and r.json()["code"] == "shipping_zone_not_found"


def test_a_suspended_store_is_hidden_from_the_public_but_not_from_its_staff():
    store = VendorFactory(status="suspended")
    assert APIClient().get(methods_url(store)).status_code == 404
    assert client_for(UserFactory()).get(zones_url(store)).status_code == 404
    assert client_for(store.owner).get(methods_url(store)).status_code == 200


def test_weight_band_prices_are_shown_with_the_method():
    band = WeightBandFactory(max_weight_g=2000, price=D("5.50"))
    body = APIClient().get(methods_url(band.method.vendor)).json()
    assert body[0]["weight_bands"] == [{"max_weight_g": 2000, "price": "5.50"}]
