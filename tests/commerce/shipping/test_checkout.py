"""Shipping from the cart to the order: the cart offers each store's methods for the buyer's
default address, checkout needs one per store, refuses a method that stopped being offered
between the cart and checkout (changing nothing), and stores the fee with a snapshot."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commerce.cart.services import cart_add_item, cart_get
from commerce.catalog.models import Product
from commerce.orders.models import Checkout, Order
from core.exceptions import ApplicationError, Conflict
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, ShippingMethodFactory, ShippingZoneFactory, VendorFactory
from tests.factories.orders import buyer_with_cart, checkout_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    """A German store: "Standard" 4.90 (free from 50.00), "Express" 9.90, "Heavy" by weight."""
    vendor = VendorFactory(shipping=False, name="Acme")
    zone = ShippingZoneFactory(vendor=vendor, name="Germany", countries=["DE"])
    ShippingMethodFactory(zone=zone, name="Standard", price=D("4.90"), free_above=D("50.00"), min_days=2, max_days=4)
    ShippingMethodFactory(zone=zone, name="Express", price=D("9.90"))
    return vendor


def offered(buyer) -> dict[str, list[tuple[str, str]]]:
    return {s["vendor_name"]: [(m["name"], str(m["price"])) for m in s["methods"]]
            for s in cart_get(user=buyer).data["shipping"]["stores"]}


def test_the_cart_offers_each_stores_methods_with_their_price_for_the_default_address(store):
    other = VendorFactory(shipping=False, name="Bolt")
    ShippingMethodFactory(zone__vendor=other, zone__countries=["FR"], name="France only")
    buyer = buyer_with_cart({ProductFactory(vendor=store, price=D("20.00")): 1, ProductFactory(vendor=other): 1})
    assert offered(buyer) == {"Acme": [("Standard", "4.90"), ("Express", "9.90")], "Bolt": []}
    # the price follows the basket: 3 x 20.00 reaches the free threshold
    cart_add_item(user=buyer, product_id=Product.objects.get(vendor=store).pk, quantity=2)
    assert offered(buyer)["Acme"] == [("Standard", "0.00"), ("Express", "9.90")]


def test_checkout_requires_a_method_per_store_and_reserves_nothing_without(store):
    product = ProductFactory(vendor=store, stock=5)
    buyer = buyer_with_cart({product: 2})
    with pytest.raises(ApplicationError) as err:
        checkout_for(buyer=buyer, shipping_methods={})
    assert err.value.code == "shipping_method_required"
    assert [m["name"] for m in err.value.extra["vendors"][0]["methods"]] == ["Standard", "Express"]
    assert Product.objects.get(pk=product.pk).stock == 5 and not Checkout.objects.exists()


def test_the_order_keeps_the_fee_and_a_snapshot_of_the_method(store):
    product = ProductFactory(vendor=store, price=D("12.00"))
    buyer = buyer_with_cart({product: 2})
    express = store.shipping_methods.get(name="Express")
    order = checkout_for(buyer=buyer, shipping_methods={store.pk: express.pk}).orders.get()
    assert (order.subtotal, order.shipping_total, order.total) == (D("24.00"), D("9.90"), D("33.90"))
    snap = order.shipping_method_data
    assert (snap["id"], snap["name"], snap["rule"], snap["zone"], snap["price"]) == (
        str(express.pk), "Express", "flat", "Germany", "9.90")
    express.price = D("99.00")
    express.save()
    express.delete()  # the store changes its mind: the order keeps what it was sold with
    order.refresh_from_db()
    assert order.shipping_method_id is None and order.shipping_total == D("9.90")
    assert order.shipping_method_data["price"] == "9.90"


@pytest.mark.parametrize("change,reason", [
    (lambda m: ShippingMethodFactory._meta.model.objects.filter(pk=m.pk).update(is_active=False), "inactive"),
    (lambda m: m.zone.__class__.objects.filter(pk=m.zone_id).update(countries="FR"), "zone"),
    (lambda m: m.delete(), "unknown"),
])
def test_a_method_that_became_unavailable_between_cart_and_checkout_is_refused(store, change, reason):
    product = ProductFactory(vendor=store, stock=5)
    buyer = buyer_with_cart({product: 1})
    chosen = store.shipping_methods.get(name="Express")
    assert ("Express", "9.90") in offered(buyer)["Acme"]
    change(chosen)
    with pytest.raises(Conflict) as err:
        checkout_for(buyer=buyer, shipping_methods={store.pk: chosen.pk})
    assert err.value.code == "shipping_method_unavailable"
    assert (err.value.extra["reason"], err.value.extra["method_id"]) == (reason, str(chosen.pk))
    assert Product.objects.get(pk=product.pk).stock == 5 and not Order.objects.exists()


def test_a_weight_band_the_basket_outgrew_is_refused_with_too_heavy():
    method = ShippingMethodFactory(rule="weight", name="Small parcel", zone__countries=["DE"])
    method.weight_bands.create(max_weight_g=2000, price=D("4.00"))
    product = ProductFactory(vendor=method.vendor, weight_g=1000, stock=5)
    buyer = buyer_with_cart({product: 2})
    assert [m["price"] for m in cart_get(user=buyer).data["shipping"]["stores"][0]["methods"]] == ["4.00"]
    Product.objects.filter(pk=product.pk).update(weight_g=1001)  # the store corrects the weight
    with pytest.raises(Conflict) as err:
        checkout_for(buyer=buyer, shipping_methods={method.vendor_id: method.pk})
    assert (err.value.code, err.value.extra["reason"]) == ("shipping_method_unavailable", "too_heavy")


def test_another_stores_method_is_refused(store):
    product = ProductFactory(vendor=store)
    buyer = buyer_with_cart({product: 1})
    foreign = ShippingMethodFactory(zone__countries=["DE"])
    with pytest.raises(Conflict) as err:
        checkout_for(buyer=buyer, shipping_methods={store.pk: foreign.pk})
    assert err.value.code == "shipping_method_unavailable"


def test_checkout_over_rest_takes_the_choice_and_answers_the_shipping_block(store):
    product = ProductFactory(vendor=store, price=D("10.00"))
    buyer = buyer_with_cart({product: 1})
    client = client_for(buyer)
    r = client.post("/api/v1/checkout/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert r.status_code == 400 and r.json()["code"] == "shipping_method_required"
    standard = store.shipping_methods.get(name="Standard")
    r = client.post("/api/v1/checkout/", {"shipping_methods": {str(store.pk): str(standard.pk)}}, format="json",
                    HTTP_IDEMPOTENCY_KEY="k-2")
    assert r.status_code == 201, r.json()
    order = r.json()["orders"][0]
    assert (order["shipping_total"], order["total"], order["shipping"]["method"]["name"]) == ("4.90", "14.90",
                                                                                           "Standard")
