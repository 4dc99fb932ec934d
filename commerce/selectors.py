"""Reads of commerce data: visibility rules for vendors and products, category trees, and the
cart representation shared by REST, the ``cart:<user_id>`` topic and ``cart.updated`` events.

Selectors never write, except :func:`cart_for_user` which creates the user's (empty) cart row
the first time it is needed.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Iterable

from django.db.models import Prefetch, Q, QuerySet

from core.exceptions import Forbidden, NotFound
from realtime.jsonutil import to_jsonable

from commerce.models import (
    Brand,
    Cart,
    CartItem,
    Category,
    Product,
    ProductImage,
    Vendor,
    VendorStaff,
    VendorStatus,
)

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """``value`` rounded to two places (half-even as Decimal's default context)."""
    return Decimal(value).quantize(CENT)


# --- Vendors --------------------------------------------------------------------------------


def vendor_ids_for_user(user, *, active_only: bool = False) -> list[uuid.UUID]:
    """Ids of the vendors ``user`` is staff of (owner included), any status unless
    ``active_only``. Empty for anonymous users. For other apps: a vendor's staff see its orders,
    chats, auctions (``Order.objects.filter(vendor_id__in=vendor_ids_for_user(user))``)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    qs = VendorStaff.objects.filter(user=user)
    if active_only:
        qs = qs.filter(vendor__status=VendorStatus.ACTIVE)
    return list(qs.order_by("vendor_id").values_list("vendor_id", flat=True))


def user_is_vendor_staff(*, user, vendor_id: uuid.UUID, active_only: bool = False) -> bool:
    """True when ``user`` is staff (or owner) of vendor ``vendor_id``."""
    return vendor_id in set(vendor_ids_for_user(user, active_only=active_only))


def vendor_private_ids(user) -> set[uuid.UUID] | str:
    """The stores whose private fields (``owner_id``) ``user`` may see: ``"all"`` for marketplace
    admins and staff, else the ids of the stores they are staff of (empty when anonymous)."""
    from core.models import is_staff_or_admin

    if user is not None and getattr(user, "is_authenticated", False) and is_staff_or_admin(user):
        return "all"
    return set(vendor_ids_for_user(user))


def vendor_list(*, user) -> QuerySet[Vendor]:
    """Vendors ``user`` may see: active ones; plus, for a signed-in user, the ones they are staff
    of; admins see all."""
    qs = Vendor.objects.select_related("owner")
    if user is not None and getattr(user, "is_authenticated", False):
        if user.is_admin:
            return qs
        return qs.filter(Q(status=VendorStatus.ACTIVE) | Q(memberships__user=user)).distinct()
    return qs.filter(status=VendorStatus.ACTIVE)


def vendor_get(*, user, vendor_id: uuid.UUID) -> Vendor:
    """The vendor if ``user`` may see it (see :func:`vendor_list`). Raises ``NotFound``
    (``vendor_not_found``)."""
    vendor = vendor_list(user=user).filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFound("Vendor not found.", code="vendor_not_found")
    return vendor


# --- Catalogue ------------------------------------------------------------------------------


def category_list() -> QuerySet[Category]:
    """All categories, flat, in tree-friendly order (position, name)."""
    return Category.objects.all()


def category_descendant_ids(category_id: int) -> list[int]:
    """``category_id`` and the ids of every category below it (one query; the tree is small).
    Empty when the category does not exist."""
    children: dict[int | None, list[int]] = {}
    exists = False
    for pk, parent_id in Category.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
        exists = exists or pk == category_id
    if not exists:
        return []
    out, stack = [], [category_id]
    while stack:
        pk = stack.pop()
        out.append(pk)
        stack.extend(children.get(pk, []))
    return out


def category_depths() -> dict[int, int]:
    """{category id: depth} with roots at depth 0."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    depths: dict[int, int] = {}

    def depth(pk: int, seen: int = 0) -> int:
        if pk in depths:
            return depths[pk]
        parent = parents.get(pk)
        d = 0 if parent is None or seen > 64 else depth(parent, seen + 1) + 1
        depths[pk] = d
        return d

    for pk in parents:
        depth(pk)
    return depths


def brand_list() -> QuerySet[Brand]:
    return Brand.objects.all()


def _product_base() -> QuerySet[Product]:
    return Product.objects.select_related("vendor", "category", "brand").prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
    )


def product_list_public() -> QuerySet[Product]:
    """Products anyone may see: alive, active, of an active vendor."""
    return _product_base().public()


def product_list_for_user(*, user, mine: bool = False) -> QuerySet[Product]:
    """With ``mine`` and a vendor-staff ``user``: every alive product of their vendors (active or
    not, any vendor status). Otherwise the public list."""
    if mine and user is not None and getattr(user, "is_authenticated", False):
        return _product_base().alive().filter(vendor_id__in=vendor_ids_for_user(user))
    return product_list_public()


def product_get(*, user, product_id: uuid.UUID) -> Product:
    """A product ``user`` may see: public, or alive and of a vendor ``user`` is staff of.
    Raises ``NotFound`` (``product_not_found``)."""
    qs = _product_base().alive().filter(pk=product_id)
    staff_of = vendor_ids_for_user(user)
    qs = qs.filter(
        Q(is_active=True, vendor__status=VendorStatus.ACTIVE) | Q(vendor_id__in=staff_of)
    )
    product = qs.first()
    if product is None:
        raise NotFound("Product not found.", code="product_not_found")
    return product


def product_get_editable(*, user, product_id: uuid.UUID) -> Product:
    """A product ``user`` may change: alive and of an *active* vendor they are staff of.

    Raises ``Forbidden`` (``not_vendor``) when ``user`` is staff of no active vendor, ``NotFound``
    (``product_not_found``) when the product is unknown, deleted or another vendor's.
    """
    vendor_ids = vendor_ids_for_user(user, active_only=True)
    if not vendor_ids:
        raise Forbidden("Only staff of an active vendor may manage products.", code="not_vendor")
    product = _product_base().alive().filter(pk=product_id, vendor_id__in=vendor_ids).first()
    if product is None:
        raise NotFound("Product not found.", code="product_not_found")
    return product


# --- Cart -----------------------------------------------------------------------------------


def cart_for_user(*, user) -> Cart:
    """The user's cart, created empty when missing (safe under concurrency)."""
    cart = Cart.objects.filter(user=user).first()
    if cart is None:
        Cart.objects.bulk_create([Cart(user=user)], ignore_conflicts=True)
        cart = Cart.objects.get(user=user)
    return cart


def _line_data(item: CartItem, reserved: int = 0) -> dict[str, Any]:
    product = item.product
    purchasable = product.is_purchasable
    available = max(product.stock, 0) + reserved if purchasable else 0
    images = list(product.images.all())
    price = money(product.price)
    return {
        "id": item.id,
        "product": {
            "id": product.id,
            "name": product.name,
            "sku": product.sku,
            "slug": product.slug,
            "vendor_id": product.vendor_id,
            "image": images[0].url if images else None,
        },
        "unit_price": price,
        "currency": product.currency,
        "quantity": item.quantity,
        "line_total": money(price * item.quantity),
        "available_stock": available,
        "in_stock": purchasable and item.quantity <= available,
        "available": purchasable,
    }


def _items_queryset() -> QuerySet[CartItem]:
    return CartItem.objects.select_related("product__vendor").prefetch_related(
        Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "id"))
    ).order_by("created_at", "id")


def _cart_dict(cart: Cart, items: Iterable[CartItem], reservation: dict[str, Any] | None = None) -> dict[str, Any]:
    quantities = reservation["quantities"] if reservation else {}
    lines = [_line_data(item, quantities.get(str(item.product_id), 0)) for item in items]
    total = sum((line["line_total"] for line in lines), Decimal("0.00"))
    return to_jsonable(
        {
            "id": cart.id,
            "lines": lines,
            "total": money(total),
            "currency": cart.currency,
            "item_count": sum(line["quantity"] for line in lines),
            "version": cart.version,
            "updated_at": cart.updated_at,
            "reservation": (
                {k: v for k, v in reservation.items() if k != "quantities"} if reservation else None
            ),
        }
    )


def _reservations(carts: list[Cart]) -> dict[Any, dict[str, Any]]:
    from commerce.checkout import active_reservation_for

    user_ids = [c.user_id for c in carts if c.user_id]
    return active_reservation_for(user_ids=user_ids) if user_ids else {}


def cart_data(*, cart: Cart) -> dict[str, Any]:
    """The cart response, JSON-ready (money and ids as strings, times ISO 8601 UTC)::

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
