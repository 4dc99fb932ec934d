"""Factories and helpers for checkout, orders, payments and wallets.

``buyer_with_cart(products={product: qty})`` gives a buyer with a default address and those cart
lines; ``checkout_for(buyer=b)`` checks the cart out with the cheapest shipping method each store
offers (``shipping_choice(b)``, read from the cart as a client would); ``funded_wallet(user,
amount)`` credits a wallet through the real service (ledger entry included), so ledger sums stay
true in every test."""

from __future__ import annotations

from decimal import Decimal

from commerce.cart.models import CartItem
from commerce.cart.services import cart_add_item, cart_get
from commerce.orders import checkout as checkouts
from commerce.payments import services as payments
from commerce.wallet import services as wallets
from commerce.wallet.models import LedgerKind
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AddressFactory, UserFactory


def buyer_with_cart(products: dict, *, buyer=None):
    """A buyer (new unless given) with a default shipping address and ``products`` {Product:
    quantity} in the cart (added through ``cart_add_item``)."""
    buyer = buyer or UserFactory()
    if not buyer.addresses.filter(is_default_shipping=True).exists():
        AddressFactory(user=buyer, is_default_shipping=True, line1="Main Street 1")
    for product, qty in products.items():
        cart_add_item(user=buyer, product_id=product.pk, quantity=qty)
    return buyer


def shipping_choice(buyer) -> dict[str, str]:
    """``{vendor_id: method_id}``: the first (cheapest) method the buyer's cart offers for each
    store, as the cart's ``shipping`` block shows them."""
    stores = cart_get(user=buyer).data["shipping"]["stores"]
    return {s["vendor_id"]: s["methods"][0]["id"] for s in stores if s["methods"]}


def checkout_for(*, buyer, **kwargs):
    """``checkout_create`` for ``buyer`` with :func:`shipping_choice` unless ``shipping_methods``
    is given."""
    kwargs.setdefault("shipping_methods", shipping_choice(buyer))
    return checkouts.checkout_create(buyer=buyer, **kwargs)


def add_cart_line_unchecked(buyer, product, quantity: int) -> None:
    """Put a cart line in place without the stock check (for oversell races)."""
    from commerce.cart.models import Cart

    cart, _ = Cart.objects.get_or_create(user=buyer)
    CartItem.objects.update_or_create(cart=cart, product=product, defaults={"quantity": quantity})


def funded_wallet(user, amount: str | Decimal, currency: str = "EUR"):
    """Credit ``amount`` to ``user``'s wallet as a deposit; returns the wallet."""
    return wallets.wallet_credit(user=user, amount=Decimal(str(amount)), currency=currency,
                                 kind=LedgerKind.DEPOSIT, reference="test:deposit")


def paid_order(*, buyer=None, vendor=None, price: str = "10.00"):
    """An order of ``buyer`` (new by default) at ``vendor`` (new by default), checked out and paid
    from a funded wallet (no gateway involved), not dispatched yet."""
    product = ProductFactory(vendor=vendor or VendorFactory(), stock=5, price=price)
    buyer = buyer_with_cart({product: 1}, buyer=buyer)
    order = checkout_for(buyer=buyer).orders.get()
    funded_wallet(buyer, order.total)
    payments.payment_create(user=buyer, order_id=order.id, method="wallet")
    order.refresh_from_db()
    return order
