"""Shipping rules, each at its edges: zone matching (countries, regions, postcode patterns, the
rest of the world), weight bands at their boundaries (and volumetric weight), the free-shipping
threshold, courier fees per started kilometre, and the reasons a method is not offered."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commerce.shipping.selectors import (
    Basket,
    Destination,
    Item,
    chargeable_weight_g,
    courier_fee,
    postcode_matches,
    quote,
    quotes_for_baskets,
)
from tests.factories.commerce import ShippingMethodFactory, ShippingZoneFactory, VendorFactory, WeightBandFactory

pytestmark = pytest.mark.django_db

BERLIN = (52.520008, 13.404954)


def basket(vendor, value="10.00", items=(Item(1, 500),), currency="EUR") -> Basket:
    return Basket(vendor_id=vendor.pk, currency=currency, value=D(value), items=tuple(items))


def offer(vendor, destination, **kw) -> dict[str, tuple]:
    """``{method name: (price, reason)}`` for one basket of ``vendor`` sent to ``destination``."""
    quotes = quotes_for_baskets(baskets=[basket(vendor, **kw)], destination=destination)[vendor.pk]
    return {q.method.name: (q.price, q.reason) for q in quotes}


@pytest.mark.parametrize("pattern,code,hit", [
    ("10115", "10115", True), ("10115", "10117", False), ("10*", "10999", True), ("10*", "11000", False),
    ("10000-14999", "14999", True), ("10000-14999", "15000", False), ("10000-14999", "9999", False),
    ("SW1A*", "sw1a 1aa", True), ("SW1A1AA", "SW1A 1AA", True), ("10115", "", False),
])
def test_postcode_patterns_exact_prefix_and_range(pattern, code, hit):
    assert postcode_matches(pattern, code) is hit


def test_zone_by_country_region_and_postcode_then_the_rest_of_the_world():
    vendor = VendorFactory(shipping=False)
    berlin = ShippingZoneFactory(vendor=vendor, name="Berlin", countries=["DE"], postcodes=["10000-14999"])
    bavaria = ShippingZoneFactory(vendor=vendor, name="Bavaria", countries=["DE"], regions=["Bayern"])
    france = ShippingZoneFactory(vendor=vendor, name="France", countries=["FR"])
    world = ShippingZoneFactory(vendor=vendor, name="World", countries=[], rest_of_world=True)
    for zone, price in ((berlin, "3.00"), (bavaria, "4.00"), (france, "8.00"), (world, "20.00")):
        ShippingMethodFactory(zone=zone, name=zone.name, price=D(price))

    def available(dest):
        return {name for name, (price, _) in offer(vendor, dest).items() if price is not None}

    assert available(Destination("DE", "10115")) == {"Berlin"}
    assert available(Destination("DE", "80331", "bayern ")) == {"Bavaria"}
    assert available(Destination("DE", "20095", "Hamburg")) == set()  # Germany is listed: not the rest of the world
    assert available(Destination("FR", "75001")) == {"France"}
    assert available(Destination("US", "10001")) == {"World"}
    assert offer(vendor, Destination("DE", "20095"))["Berlin"] == (None, "zone")


def test_weight_bands_at_their_boundaries_and_above_the_last():
    method = ShippingMethodFactory(rule="weight", name="Parcel", zone__countries=["DE"])
    for max_g, price in ((1000, "4.00"), (5000, "6.50"), (31500, "12.00")):
        WeightBandFactory(method=method, max_weight_g=max_g, price=D(price))
    vendor, dest = method.vendor, Destination("DE", "10115")
    for grams, expected in ((1, "4.00"), (1000, "4.00"), (1001, "6.50"), (5000, "6.50"), (5001, "12.00"),
                            (31500, "12.00")):
        assert offer(vendor, dest, items=[Item(1, grams)])["Parcel"] == (D(expected), ""), grams
    assert offer(vendor, dest, items=[Item(1, 31501)])["Parcel"] == (None, "too_heavy")
    assert offer(vendor, dest, items=[Item(2, 500), Item(1, 1)])["Parcel"] == (D("6.50"), "")  # 1001 g in all
    assert offer(vendor, dest, items=[Item(1, 500), Item(1, None)])["Parcel"] == (None, "weight_unknown")


def test_volumetric_weight_counts_when_larger_than_the_actual_weight():
    # 400 x 300 x 200 mm = 24,000 cm³ / 5000 = 4.8 kg per unit; a 500 g unit without dimensions counts 500 g
    items = [Item(2, 1000, (400, 300, 200)), Item(1, 500)]
    assert chargeable_weight_g(items, volumetric_divisor=5000) == 2 * 4800 + 500
    assert chargeable_weight_g(items, volumetric_divisor=None) == 2500


def test_free_above_a_basket_value_starts_exactly_at_the_threshold():
    method = ShippingMethodFactory(price=D("4.90"), free_above=D("50.00"), name="Standard", zone__countries=["DE"])
    dest = Destination("DE", "10115")
    assert offer(method.vendor, dest, value="49.99")["Standard"] == (D("4.90"), "")
    assert offer(method.vendor, dest, value="50.00")["Standard"] == (D("0.00"), "")
    assert offer(method.vendor, dest, value="120.00")["Standard"] == (D("0.00"), "")


@pytest.mark.parametrize("distance_m,fee", [(0, "3.00"), (1, "4.50"), (1000, "4.50"), (1001, "6.00"), (9999, "18.00")])
def test_courier_fee_is_the_base_plus_every_started_kilometre(distance_m, fee):
    method = ShippingMethodFactory.build(rule="courier", price=D("3.00"), price_per_km=D("1.50"))
    assert courier_fee(method, distance_m) == D(fee)


def test_courier_method_measures_from_the_pickup_point_and_refuses_beyond_its_range():
    method = ShippingMethodFactory(rule="courier", name="Courier", price=D("3.00"), price_per_km=D("1.00"),
                                   max_distance_m=10_000, zone__countries=["DE"])
    near = Destination("DE", "10178", latitude=52.5219, longitude=13.4132)   # Alexanderplatz, ~0.65 km
    far = Destination("DE", "14467", latitude=52.3906, longitude=13.0645)    # Potsdam, ~26.6 km
    b = basket(method.vendor)
    q = quote(method, b, near, listed_countries={"DE"}, pickup=BERLIN)
    assert (q.price, q.distance_m < 1000) == (D("4.00"), True)
    q = quote(method, b, far, listed_countries={"DE"}, pickup=BERLIN)
    assert (q.price, q.reason, q.distance_m > 10_000) == (None, "too_far", True)
    no_coordinates = quote(method, b, Destination("DE", "10115"), listed_countries={"DE"}, pickup=BERLIN)
    assert (no_coordinates.price, no_coordinates.reason) == (None, "no_coordinates")


def test_inactive_and_other_currency_methods_are_not_offered_and_come_last():
    vendor = VendorFactory(shipping=False)
    zone = ShippingZoneFactory(vendor=vendor, countries=["DE"])
    ShippingMethodFactory(zone=zone, name="Off", price=D("1.00"), is_active=False)
    ShippingMethodFactory(zone=zone, name="Pounds", price=D("1.00"), currency="GBP")
    ShippingMethodFactory(zone=zone, name="Express", price=D("9.90"))
    ShippingMethodFactory(zone=zone, name="Standard", price=D("4.90"))
    got = quotes_for_baskets(baskets=[basket(vendor)], destination=Destination("DE", "10115"))[vendor.pk]
    assert [(q.method.name, q.price, q.reason) for q in got] == [
        ("Standard", D("4.90"), ""), ("Express", D("9.90"), ""), ("Off", None, "inactive"),
        ("Pounds", None, "currency")]


def test_no_address_offers_nothing():
    method = ShippingMethodFactory()
    got = quotes_for_baskets(baskets=[basket(method.vendor)], destination=None)[method.vendor_id]
    assert [(q.price, q.reason) for q in got] == [(None, "zone")]


def test_a_store_without_zones_offers_nothing():
    vendor = VendorFactory(shipping=False)
    assert quotes_for_baskets(baskets=[basket(vendor)], destination=Destination("DE", "10115")) == {vendor.pk: []}
