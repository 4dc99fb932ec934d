"""A taxed order to invoice: a German store with prices including tax, 1 x 25.00 (19 %),
3 x 4.99 (7 %) and a 4.90 shipping fee (19 %), paid from the buyer's wallet."""

from __future__ import annotations

from decimal import Decimal as D

from commerce.payments import services as payments
from tests.factories.commerce import ProductFactory, ShippingMethodFactory, VendorFactory
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet


def taxed_store(**kwargs):
    vendor = VendorFactory(shipping=False, **kwargs)
    ShippingMethodFactory(zone__vendor=vendor, zone__countries=["DE"], name="Parcel", price=D("4.90"))
    return vendor


def checked_out(vendor, buyer=None):
    disc = ProductFactory(vendor=vendor, price=D("25.00"), name="Brake disc")
    manual = ProductFactory(vendor=vendor, price=D("4.99"), tax_class="reduced", name="Manual")
    buyer = buyer_with_cart({disc: 1, manual: 3}, buyer=buyer)
    return checkout_for(buyer=buyer).orders.get()


def pay(order):
    funded_wallet(order.buyer, order.total)
    payments.payment_create(user=order.buyer, order_id=order.id, method="wallet")
    order.refresh_from_db()
    return order


def paid_taxed_order(vendor=None, buyer=None):
    return pay(checked_out(vendor or taxed_store(), buyer))
