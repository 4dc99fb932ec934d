"""Tax lines of orders against hand-computed examples: prices with tax in them and without,
mixed rates in one order, the shipping fee taxed as its own line, the destination's rates."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commerce.tax.models import StoreTaxSettings
from tests.factories.commerce import ProductFactory, ShippingMethodFactory, VendorFactory
from tests.factories.core import AddressFactory, UserFactory
from tests.factories.orders import buyer_with_cart, checkout_for

pytestmark = pytest.mark.django_db


def store(*, includes_tax: bool):
    vendor = VendorFactory(shipping=False)
    ShippingMethodFactory(zone__vendor=vendor, zone__countries=[], zone__rest_of_world=True, price=D("4.90"))
    if not includes_tax:
        StoreTaxSettings.objects.create(vendor=vendor, prices_include_tax=False)
    return vendor


def order_of(vendor, *, country="DE"):
    """A checkout to ``country`` of 1 x 25.00 (standard), 3 x 4.99 (reduced), 1 x 2.00 (zero)."""
    buyer = UserFactory()
    AddressFactory(user=buyer, is_default_shipping=True, country=country)
    buyer = buyer_with_cart({ProductFactory(vendor=vendor, price=D("25.00"), tax_class="standard"): 1,
                             ProductFactory(vendor=vendor, price=D("4.99"), tax_class="reduced"): 3,
                             ProductFactory(vendor=vendor, price=D("2.00"), tax_class="zero"): 1}, buyer=buyer)
    return checkout_for(buyer=buyer).orders.get()


def tax_lines(order):
    lines = [(ol.line_total, ol.tax_rate, ol.net_total, ol.tax_amount, ol.gross_total)
             for ol in order.lines.order_by("-line_total")]
    return lines, (order.shipping_tax_rate, order.shipping_net, order.shipping_tax, order.shipping_total)


def test_prices_including_tax_germany_mixed_rates():
    order = order_of(store(includes_tax=True))
    lines, shipping = tax_lines(order)
    assert lines == [
        (D("25.00"), D("19.00"), D("21.01"), D("3.99"), D("25.00")),   # 25 x 19/119 = 3.9916
        (D("14.97"), D("7.00"), D("13.99"), D("0.98"), D("14.97")),    # 14.97 x 7/107 = 0.9794
        (D("2.00"), D("0.00"), D("2.00"), D("0.00"), D("2.00")),
    ]
    assert shipping == (D("19.00"), D("4.12"), D("0.78"), D("4.90"))    # 4.90 x 19/119 = 0.7824
    assert (order.subtotal, order.shipping_total, order.total, order.tax_total) == (
        D("41.97"), D("4.90"), D("46.87"), D("5.75"))
    assert order.prices_include_tax is True and order.tax_country == "DE"


def test_prices_excluding_tax_germany_mixed_rates():
    order = order_of(store(includes_tax=False))
    lines, shipping = tax_lines(order)
    assert lines == [
        (D("25.00"), D("19.00"), D("25.00"), D("4.75"), D("29.75")),
        (D("14.97"), D("7.00"), D("14.97"), D("1.05"), D("16.02")),    # 14.97 x 0.07 = 1.0479
        (D("2.00"), D("0.00"), D("2.00"), D("0.00"), D("2.00")),
    ]
    assert shipping == (D("19.00"), D("4.90"), D("0.93"), D("5.83"))   # 4.90 x 0.19 = 0.931
    assert (order.subtotal, order.shipping_total, order.total, order.tax_total) == (
        D("47.77"), D("5.83"), D("53.60"), D("6.73"))
    assert order.prices_include_tax is False


def test_the_destinations_rates_apply_and_a_country_without_rates_is_not_taxed():
    vendor = store(includes_tax=True)
    france = order_of(vendor, country="FR")
    assert [ol.tax_amount for ol in france.lines.order_by("-line_total")] == [D("4.17"), D("0.78"), D("0.00")]
    # 25 x 20/120 = 4.1667; 14.97 x 5.5/105.5 = 0.7804
    assert (france.shipping_tax, france.tax_country) == (D("0.82"), "FR")   # 4.90 x 20/120 = 0.8167
    usa = order_of(vendor, country="US")
    assert usa.tax_total == D("0.00") and usa.total == D("46.87")


def test_the_order_body_shows_tax_lines_and_the_shipping_line():
    from tests.conftest import client_for

    order = order_of(store(includes_tax=True))
    body = client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/").json()
    assert (body["tax_total"], body["net_total"], body["shipping"]["tax"], body["shipping"]["tax_rate"]) == (
        "5.75", "41.12", "0.78", "19.00")
    assert sorted((line["tax_rate"], line["tax_amount"]) for line in body["lines"]) == [
        ("0.00", "0.00"), ("19.00", "3.99"), ("7.00", "0.98")]
