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


from commerce.cart.hooks import checkout_reservations
from commerce.cart.models import Cart, CartItem
from commerce.cart.serializers import CartOutputSerializer
from commerce.catalog.models import ProductImage
from commerce.common.money import money


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


def _cart_dict(cart: Cart, items: Iterable[CartItem], reservation: dict[str, Any] | None = None) -> dict[str, Any]:
    quantities = reservation["quantities"] if reservation else {}
    lines = [_line(item, quantities.get(str(item.product_id), 0)) for item in items]
    return CartOutputSerializer(CartView(cart=cart, lines=lines, reservation=reservation)).data


def _reservations(carts: list[Cart]) -> dict[Any, dict[str, Any]]:
    user_ids = [c.user_id for c in carts if c.user_id]
    return checkout_reservations(user_ids=user_ids) if user_ids else {}


def cart_data(*, cart: Cart) -> dict[str, Any]:
    """The cart response rendered by :class:`commerce.cart.serializers.CartOutputSerializer` (money and ids as strings, times ISO 8601 UTC)::

        {"id", "lines": [{"id", "product": {"id", "name", "sku", "slug", "vendor_id", "image"},
                          "unit_price", "currency", "quantity", "line_total",
                          "available_stock", "in_stock", "available"}],
         "total", "currency", "item_count", "version", "updated_at",
         "reservation": null | {"checkout_id", "expires_at", "total", "currency", "order_ids"}}

    ``unit_price`` is the product's price now; ``line_total = unit_price * quantity`` and
    ``total`` their sum, all ``"12.50"`` strings in ``currency``. ``available`` is false when the
    product was deactivated, deleted or its vendor is not active (then ``available_stock`` is 0);
    ``in_stock`` is true when the line can be bought as it is (available and quantity <= stock).
    ``reservation`` is the buyer's active checkout (stock held until ``expires_at``); the units it
    holds count in that buyer's ``available_stock`` (they are theirs until it expires).
    The same dict is the REST body, the topic snapshot and the ``cart.updated`` event data.
    """
    return _cart_dict(cart, _items_queryset().filter(cart=cart), _reservations([cart]).get(cart.user_id))


def carts_data(*, carts: list[Cart]) -> dict[uuid.UUID, dict[str, Any]]:
    """:func:`cart_data` of several carts in two queries: ``{cart id: data}``."""
    by_cart: dict[uuid.UUID, list[CartItem]] = {c.pk: [] for c in carts}
    for item in _items_queryset().filter(cart_id__in=list(by_cart)):
        by_cart[item.cart_id].append(item)
    reservations = _reservations(carts)
    return {c.pk: _cart_dict(c, by_cart[c.pk], reservations.get(c.user_id)) for c in carts}
