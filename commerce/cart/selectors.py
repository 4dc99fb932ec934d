"""Reads of the cart: the cart representation shared by REST, the ``cart:<user_id>`` topic and
``cart.updated`` events. The stock a buyer's active checkout holds comes from the orders room
through the ``checkout_reservations`` hook (``commerce.cart.hooks``).

Selectors never write, except :func:`cart_for_user` which creates the user's (empty) cart row
the first time it is needed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from django.db.models import Prefetch, QuerySet

from core.models import Address

from commerce.cart.hooks import checkout_reservations
from commerce.cart.models import Cart, CartItem
from commerce.cart.serializers import CartOutputSerializer
from commerce.catalog.models import ProductImage
from commerce.common.money import money
from commerce.shipping.models import ShippingZone
from commerce.shipping.selectors import Basket, Destination, Item, quotes_for_baskets, zones_of
from commerce.tax.selectors import prices_include_tax


def cart_for_user(*, user) -> Cart:
    """The user's cart, created empty when missing (safe under concurrency)."""
    cart = Cart.objects.filter(user=user).first()
    if cart is None:
        Cart.objects.bulk_create([Cart(user=user)], ignore_conflicts=True)
        cart = Cart.objects.get(user=user)
    return cart


@dataclass(frozen=True)
class CartLine:
    """A cart line as the buyer sees it now: ``unit_price`` is the product's current price,
    ``available_stock`` the units on hand plus those the buyer's own checkout holds (0 when the
    product cannot be bought)."""

    item: CartItem
    unit_price: Decimal
    available_stock: int
    available: bool

    @property
    def line_total(self) -> Decimal:
        return money(self.unit_price * self.item.quantity)

    @property
    def in_stock(self) -> bool:
        return self.available and self.item.quantity <= self.available_stock


@dataclass(frozen=True)
class CartView:
    """A cart with its lines, totals and the checkout holding its stock (rendered by
    :class:`commerce.cart.serializers.CartOutputSerializer`)."""

    cart: Cart
    lines: list[CartLine]
    reservation: dict[str, Any] | None
    shipping: dict[str, Any]

    @property
    def total(self) -> Decimal:
        return money(sum((line.line_total for line in self.lines), Decimal("0.00")))

    @property
    def item_count(self) -> int:
        return sum(line.item.quantity for line in self.lines)


def _line(item: CartItem, reserved: int = 0) -> CartLine:
    product = item.product
    purchasable = product.is_purchasable
    return CartLine(item=item, unit_price=money(product.price),
                    available_stock=max(product.stock, 0) + reserved if purchasable else 0, available=purchasable)


def _items_queryset() -> QuerySet[CartItem]:
    return CartItem.objects.select_related("product__vendor").prefetch_related(
        Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "id"))
    ).order_by("created_at", "id")


def _cart_dict(cart: Cart, items: Iterable[CartItem], reservation: dict[str, Any] | None = None, *,
               shipping: dict[str, Any] | None = None) -> dict[str, Any]:
    quantities = reservation["quantities"] if reservation else {}
    lines = [_line(item, quantities.get(str(item.product_id), 0)) for item in items]
    return CartOutputSerializer(CartView(cart=cart, lines=lines, reservation=reservation,
                                         shipping=shipping or {"address": None, "stores": []})).data


def _address_data(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {"id": address.id, "country": str(address.country), "postal_code": address.postal_code or "",
            "region": address.region or "", "city": address.city or ""}


def _shipping_data(items: list[CartItem], address: Address | None, zones: dict[uuid.UUID, list[ShippingZone]],
                   includes: dict[uuid.UUID, bool]) -> dict[str, Any]:
    """The cart's ``shipping`` block: per store (in the order checkout makes orders: by store
    name), the methods offered for ``address`` and their prices."""
    by_vendor: dict[uuid.UUID, list[CartItem]] = {}
    for item in sorted(items, key=lambda i: (i.product.vendor.name, i.product.vendor_id)):
        by_vendor.setdefault(item.product.vendor_id, []).append(item)
    baskets = [Basket(vendor_id=vid, currency=store_items[0].product.currency,
                      value=sum((i.product.price * i.quantity for i in store_items), Decimal("0.00")),
                      items=tuple(Item.of(i.product, i.quantity) for i in store_items))
               for vid, store_items in by_vendor.items()]
    quotes = quotes_for_baskets(baskets=baskets, destination=Destination.of(address) if address else None,
                                zones=zones)
    return {
        "address": _address_data(address),
        "stores": [
            {
                "vendor_id": b.vendor_id,
                "vendor_name": by_vendor[b.vendor_id][0].product.vendor.name,
                "prices_include_tax": includes.get(b.vendor_id, True),
                "basket_value": b.value,
                "currency": b.currency,
                "methods": [
                    {"id": q.method.id, "name": q.method.name, "description": q.method.description,
                     "rule": q.method.rule, "price": q.price, "currency": q.method.currency,
                     "free_above": q.method.free_above,
                     "min_days": q.method.min_days, "max_days": q.method.max_days}
                    for q in quotes[b.vendor_id] if q.available
                ],
            }
            for b in baskets
        ],
    }


def _shipping_for_carts(carts: list[Cart], items: dict[uuid.UUID, list[CartItem]]) -> dict[uuid.UUID, dict[str, Any]]:
    """The ``shipping`` block of each cart (``{cart id: block}``): the buyers' default shipping
    addresses, the stores' zones and methods and their tax settings in five queries at most,
    whatever the number of carts (none for carts without lines)."""
    vendor_ids = {i.product.vendor_id for cart_items in items.values() for i in cart_items}
    if not vendor_ids:
        return {}
    user_ids = [c.user_id for c in carts if c.user_id and items.get(c.pk)]
    addresses = {a.user_id: a for a in Address.objects.filter(user_id__in=user_ids, is_default_shipping=True)}
    zones = zones_of(vendor_ids)
    includes = prices_include_tax(vendor_ids=vendor_ids)
    return {c.pk: _shipping_data(items[c.pk], addresses.get(c.user_id), zones, includes)
            for c in carts if items.get(c.pk)}


def _reservations(carts: list[Cart]) -> dict[Any, dict[str, Any]]:
    user_ids = [c.user_id for c in carts if c.user_id]
    return checkout_reservations(user_ids=user_ids) if user_ids else {}


def cart_data(*, cart: Cart) -> dict[str, Any]:
    """The cart response rendered by :class:`commerce.cart.serializers.CartOutputSerializer` (money and ids as strings, times ISO 8601 UTC)::

        {"id", "lines": [{"id", "product": {"id", "name", "sku", "slug", "vendor_id", "image"},
                          "unit_price", "currency", "quantity", "line_total",
                          "available_stock", "in_stock", "available"}],
         "total", "currency", "item_count", "version", "updated_at",
         "reservation": null | {"checkout_id", "expires_at", "total", "currency", "order_ids"},
         "shipping": {"address": null | {"id", "country", "postal_code", "region", "city"},
                      "stores": [{"vendor_id", "vendor_name", "prices_include_tax", "basket_value",
                                  "currency", "methods": [{"id", "name", "description", "rule",
                                  "price", "currency", "free_above", "min_days", "max_days"}]}]}}

    ``unit_price`` is the product's price now; ``line_total = unit_price * quantity`` and
    ``total`` their sum, all ``"12.50"`` strings in ``currency``. ``available`` is false when the
    product was deactivated, deleted or its vendor is not active (then ``available_stock`` is 0);
    ``in_stock`` is true when the line can be bought as it is (available and quantity <= stock).
    ``reservation`` is the buyer's active checkout (stock held until ``expires_at``); the units it
    holds count in that buyer's ``available_stock`` (they are theirs until it expires).
    ``shipping`` offers, per store of the cart (by store name, as checkout makes its orders),
    the shipping methods available for the buyer's default shipping address and the store's
    part of the cart (``basket_value``, weights), cheapest first, with their price
    (``commerce.shipping.selectors``); checkout takes one ``id`` per store. ``address`` is null
    (and no method is offered) for an anonymous cart or a buyer without a default shipping
    address. ``prices_include_tax`` says whether the store's prices include tax (if not, tax is
    added at checkout).
    The same dict is the REST body, the topic snapshot and the ``cart.updated`` event data.
    """
    return carts_data(carts=[cart])[cart.pk]


def carts_data(*, carts: list[Cart]) -> dict[uuid.UUID, dict[str, Any]]:
    """:func:`cart_data` of several carts (``{cart id: data}``) in a fixed number of queries: the
    lines with their products and images, the reservations, and the shipping offers (addresses,
    zones with methods and bands, tax settings, and one pickup point per store with a courier
    method)."""
    by_cart: dict[uuid.UUID, list[CartItem]] = {c.pk: [] for c in carts}
    for item in _items_queryset().filter(cart_id__in=list(by_cart)):
        by_cart[item.cart_id].append(item)
    reservations = _reservations(carts)
    shipping = _shipping_for_carts(carts, by_cart)
    return {c.pk: _cart_dict(c, by_cart[c.pk], reservations.get(c.user_id), shipping=shipping.get(c.pk))
            for c in carts}
