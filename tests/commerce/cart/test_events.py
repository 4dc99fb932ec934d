"""The ``cart:`` topic in the style of Zulip's event tests: a client that starts from the
snapshot and applies ``cart.updated`` ends with exactly a fresh snapshot, after every kind of
change a cart goes through (lines, quantities, removal, merge at sign-in, a product's price,
stock and availability, a checkout holding its stock, payment, clear).

The reducer a client writes: ``cart.updated`` carries the whole cart, so replace the copy when
the event's ``version`` is newer. Everything in the snapshot is compared.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.cart import services as carts
from commerce.cart.events import CART_TOPIC
from commerce.catalog.services import product_update, products_adjust_stock
from commerce.orders import checkout as checkouts
from commerce.payments import services as payments
from commerce.stores.services import vendor_set_status
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AddressFactory, AdminFactory, UserFactory
from tests.factories.orders import checkout_for
from tests.realtime.replay import Client

pytestmark = pytest.mark.django_db


def reduce_cart(state: dict, type_: str, data: dict) -> dict:
    """What a client does with an event of the ``cart:`` topic."""
    assert type_ == "cart.updated", type_
    return data if data["version"] > state["version"] else state


def test_a_client_applying_cart_events_keeps_exactly_the_snapshot():
    vendor = VendorFactory()
    mug, pot = ProductFactory(vendor=vendor, price=Decimal("5.00"), stock=10), ProductFactory(vendor=vendor, stock=3)
    buyer = UserFactory()
    AddressFactory(user=buyer, is_default_shipping=True)
    client = Client(user=buyer, topic=CART_TOPIC.name(buyer.pk), reduce=reduce_cart)

    carts.cart_add_item(user=buyer, product_id=mug.pk, quantity=2)
    client.sync("cart.updated")
    line = carts.cart_add_item(user=buyer, product_id=pot.pk, quantity=1).data["lines"][1]
    client.sync("cart.updated")
    carts.cart_set_quantity(user=buyer, product_id=mug.pk, quantity=3)
    client.sync("cart.updated")
    carts.cart_remove_item(user=buyer, item_id=line["id"])
    client.sync("cart.updated")

    # another device, signed out, filled an anonymous cart; signing in merges it
    anonymous = carts.cart_get_or_create_anonymous()
    carts.cart_add_item(cart_id=anonymous.pk, product_id=pot.pk, quantity=2)
    carts.cart_merge_anonymous(user=buyer, anonymous_cart_id=anonymous.pk)
    client.sync("cart.updated")

    # the store changes the product: price, stock; the marketplace suspends and restores the store
    product_update(user=vendor.owner, product_id=mug.pk, price="4.50")
    client.sync("cart.updated")
    products_adjust_stock(changes={pot.pk: -1}, reason="inventory_count")
    client.sync("cart.updated")
    admin = AdminFactory()
    vendor_set_status(vendor_id=vendor.pk, status="suspended", actor=admin)
    client.sync("cart.updated")
    vendor_set_status(vendor_id=vendor.pk, status="active", actor=admin)
    client.sync("cart.updated")

    # a checkout holds the stock (the cart shows the reservation), is cancelled, then paid
    checkout = checkout_for(buyer=buyer)
    client.sync("cart.updated")
    assert client.state["reservation"]["checkout_id"] == str(checkout.pk)
    checkouts.checkout_cancel(buyer=buyer, checkout_id=checkout.pk)
    client.sync("cart.updated")
    assert client.state["reservation"] is None
    order = checkout_for(buyer=buyer).orders.get()
    payments.payment_create(user=buyer, order_id=order.pk, method="card", card_token="tok_visa")
    client.sync("cart.updated")

    carts.cart_add_item(user=buyer, product_id=mug.pk, quantity=1)
    carts.cart_clear(user=buyer)
    client.sync("cart.updated")
    assert client.state["lines"] == [] and client.applied.count("cart.updated") >= 14
