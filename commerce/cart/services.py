"""The server cart: lines, quantities, anonymous carts and their merge at sign-in.

Every function is keyword-only and transactional (``transaction.atomic``; it joins the caller's
transaction when there is one). Refusals raise ``core.exceptions.ApplicationError`` subclasses
with stable codes; REST views and the ``cart:`` topic share these functions, so both give the
same codes. Quantities are ints 1..999.

Lock order: **products (pk order) -> carts (pk order)**. Cart writes take ``FOR SHARE`` on the
products they read (so a concurrent price/stock change waits for them, or they for it) and then
``FOR UPDATE`` on the cart; a product write (``commerce.catalog``) takes ``FOR UPDATE`` on the
product and then, through ``products_changed``, locks every cart holding it
(:func:`carts_refresh_for_products`).

Realtime: every cart change bumps ``Cart.version`` by exactly one and, for a user's cart, calls
``realtime.outbox.publish`` with ``cart.updated`` (``commerce.cart.events``: the cart response)
on ``cart:<user_id>`` in the same transaction (sent after commit). Anonymous carts have no topic.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.permissions import is_active_user
from realtime.outbox import publish

from commerce.cart import selectors
from commerce.cart.events import CART_TOPIC, CartUpdated
from commerce.cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY, Cart, CartItem
from commerce.catalog.models import Product
from commerce.common.validation import as_uuid, invalid


def _validate_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise invalid("quantity", f"Quantity must be an integer between 1 and {MAX_LINE_QUANTITY}.")
    return quantity


def _lock_products_shared(product_ids: Iterable[uuid.UUID]) -> None:
    """``SELECT ... FOR SHARE`` on the products, in pk order: a concurrent price/stock change
    (which takes ``FOR UPDATE``) waits for this transaction, and this one for it."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    table = connection.ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR SHARE", [ids])


def _purchasable_product(product_id: uuid.UUID) -> Product:
    product = Product.objects.select_related("vendor").filter(pk=product_id, deleted_at__isnull=True).first()
    if product is None:
        raise NotFound("Product not found.", code="product_not_found")
    if not product.is_purchasable:
        raise ApplicationError(f"{product.name} is not available.", code="product_unavailable", status=400)
    return product


def _check_new_line(cart: Cart, product: Product) -> None:
    """A new line for ``product`` fits ``cart`` (locked): same currency as its other lines
    (``Conflict`` ``currency_mismatch``) and fewer than ``MAX_CART_LINES`` lines (``cart_full``)."""
    lines = CartItem.objects.filter(cart=cart).count()
    if lines and cart.currency != product.currency:
        raise Conflict(
            f"Your cart is in {cart.currency}; {product.name} is priced in {product.currency}.",
            code="currency_mismatch",
        )
    if lines >= MAX_CART_LINES:
        raise Conflict(f"A cart holds at most {MAX_CART_LINES} different products.", code="cart_full")


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise Conflict(
            f"Only {product.stock} of {product.name} in stock; {quantity} requested.",
            code="insufficient_stock",
            extra={"product_id": str(product.pk), "available_stock": product.stock},
        )


def _lock_cart(*, user, cart_id: uuid.UUID | None) -> Cart:
    """Lock (FOR UPDATE) the user's cart (creating it) or the anonymous cart ``cart_id``."""
    if is_active_user(user):
        cart = Cart.objects.select_for_update().filter(user=user).first()
        if cart is None:
            Cart.objects.bulk_create([Cart(user=user)], ignore_conflicts=True)
            cart = Cart.objects.select_for_update().get(user=user)
        return cart
    if cart_id is None:
        raise NotFound("Cart not found.", code="cart_not_found")
    cart_id = as_uuid(cart_id, code="cart_not_found", what="Cart")
    cart = Cart.objects.select_for_update().filter(pk=cart_id, user__isnull=True).first()
    if cart is None:
        raise NotFound("Cart not found.", code="cart_not_found")
    return cart


def _cart_filter(*, user, cart_id: uuid.UUID | None) -> Q:
    if is_active_user(user):
        return Q(cart__user=user)
    cart_id = as_uuid(cart_id, code="cart_not_found", what="Cart") if cart_id is not None else None
    return Q(cart_id=cart_id, cart__user__isnull=True)


def _publish_cart(cart: Cart, data: dict[str, Any]) -> None:
    cart.data = data  # type: ignore[attr-defined]
    if cart.user_id:
        publish(topic=CART_TOPIC.name(cart.user_id), event=CartUpdated.build(data))


def _bump(cart: Cart) -> Cart:
    """Record one change of a locked cart: version + 1, event, ``cart.data``."""
    cart.version += 1
    cart.save(update_fields=["version", "currency", "updated_at"])
    _publish_cart(cart, selectors.cart_data(cart=cart))
    return cart


def _unchanged(cart: Cart) -> Cart:
    cart.data = selectors.cart_data(cart=cart)  # type: ignore[attr-defined]
    return cart


def cart_get(*, user=None, cart_id: uuid.UUID | None = None) -> Cart:
    """The cart of ``user`` (created when missing) or the anonymous cart ``cart_id``, with
    ``.data`` (the cart response, see ``selectors.cart_data``). Raises ``NotFound``
    (``cart_not_found``) for an unknown anonymous cart."""
    if is_active_user(user):
        return _unchanged(selectors.cart_for_user(user=user))
    cart_id = as_uuid(cart_id, code="cart_not_found", what="Cart") if cart_id is not None else None
    cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if cart is None:
        raise NotFound("Cart not found.", code="cart_not_found")
    return _unchanged(cart)


def cart_get_or_create_anonymous(*, cart_id: Any = None) -> Cart:
    """The anonymous cart ``cart_id`` when it exists and belongs to nobody, else a new empty
    anonymous cart (so a stale, unknown or someone's-user-cart id never leaks or fails)."""
    if cart_id is not None:
        try:
            cid = uuid.UUID(str(cart_id))
        except (ValueError, TypeError, AttributeError):
            cid = None
        if cid is not None:
            cart = Cart.objects.filter(pk=cid, user__isnull=True).first()
            if cart is not None:
                return cart
    return Cart.objects.create()


def cart_add_item(*, user=None, cart_id: uuid.UUID | None = None, product_id: uuid.UUID, quantity: int) -> Cart:
    """Add ``quantity`` (1..999) units of ``product_id`` to the cart of ``user`` (signed in) or
    to anonymous cart ``cart_id``; an existing line grows. Returns the locked-and-updated Cart
    with ``.data`` (the cart response); version + 1 and ``cart.updated`` published.

    Raises ``ApplicationError`` ``invalid`` (bad quantity), ``quantity_limit`` (the line would
    exceed 999), ``product_unavailable`` (400: inactive product or vendor not active);
    ``NotFound`` ``product_not_found`` (unknown or deleted), ``cart_not_found``; ``Conflict``
    ``insufficient_stock`` (body: ``available_stock``), ``currency_mismatch``, ``cart_full``.
    """
    quantity = _validate_quantity(quantity)
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        _lock_products_shared([product_id])
        product = _purchasable_product(product_id)
        cart = _lock_cart(user=user, cart_id=cart_id)
        item = CartItem.objects.filter(cart=cart, product=product).first()
        if item is None:
            _check_new_line(cart, product)
            new_quantity = quantity
        else:
            new_quantity = item.quantity + quantity
        if new_quantity > MAX_LINE_QUANTITY:
            raise ApplicationError(
                f"A cart line holds at most {MAX_LINE_QUANTITY} units.", code="quantity_limit", status=400
            )
        _check_stock(product, new_quantity)
        if item is None:
            CartItem.objects.create(cart=cart, product=product, quantity=new_quantity)
            cart.currency = product.currency
        else:
            item.quantity = new_quantity
            item.save(update_fields=["quantity", "updated_at"])
        return _bump(cart)


def cart_set_quantity(
    *,
    user=None,
    cart_id: uuid.UUID | None = None,
    item_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    quantity: int,
) -> Cart:
    """Set the quantity (1..999) of a line, named by ``item_id`` or by ``product_id`` (a product
    not yet in the cart is added). Setting the quantity a line already has changes nothing (no
    version bump, no event). Returns the Cart with ``.data``.

    Raises as :func:`cart_add_item`, plus ``NotFound`` ``cart_item_not_found`` and
    ``ApplicationError`` ``invalid`` when neither ``item_id`` nor ``product_id`` is given.
    Lowering the quantity of a line whose product is unavailable fails with
    ``product_unavailable``: remove the line instead.
    """
    quantity = _validate_quantity(quantity)
    if item_id is None and product_id is None:
        raise invalid("item_id", "Give item_id or product_id.")
    if item_id is not None:
        item_id = as_uuid(item_id, code="cart_item_not_found", what="Cart item")
        found = CartItem.objects.filter(_cart_filter(user=user, cart_id=cart_id), pk=item_id).values_list(
            "product_id", flat=True
        ).first()
        if found is None:
            raise NotFound("Cart item not found.", code="cart_item_not_found")
        product_id = found
    else:
        product_id = as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        _lock_products_shared([product_id])
        cart = _lock_cart(user=user, cart_id=cart_id)
        item = CartItem.objects.filter(cart=cart, product_id=product_id).first()
        if item is None and item_id is not None:
            raise NotFound("Cart item not found.", code="cart_item_not_found")  # removed meanwhile
        if item is not None and item.quantity == quantity:
            return _unchanged(cart)
        product = _purchasable_product(product_id)
        if item is None:
            _check_new_line(cart, product)
        _check_stock(product, quantity)
        if item is None:
            CartItem.objects.create(cart=cart, product=product, quantity=quantity)
            cart.currency = product.currency
        else:
            item.quantity = quantity
            item.save(update_fields=["quantity", "updated_at"])
        return _bump(cart)


def cart_remove_item(*, user=None, cart_id: uuid.UUID | None = None, item_id: uuid.UUID) -> Cart:
    """Remove line ``item_id`` (always allowed, even for unavailable products). Returns the Cart
    with ``.data``; version + 1. Raises ``NotFound`` ``cart_item_not_found`` / ``cart_not_found``."""
    item_id = as_uuid(item_id, code="cart_item_not_found", what="Cart item")
    with transaction.atomic():
        cart = _lock_cart(user=user, cart_id=cart_id)
        deleted, _ = CartItem.objects.filter(cart=cart, pk=item_id).delete()
        if not deleted:
            raise NotFound("Cart item not found.", code="cart_item_not_found")
        return _bump(cart)


def cart_remove_products(*, user, product_ids: Iterable[uuid.UUID]) -> Cart:
    """Remove the lines of ``product_ids`` from ``user``'s cart (e.g. after checkout ordered
    them); missing lines are ignored. Version + 1 only when a line went. Returns the Cart."""
    ids = [as_uuid(p, code="product_not_found", what="Product") for p in product_ids]
    with transaction.atomic():
        cart = _lock_cart(user=user, cart_id=None)
        deleted, _ = CartItem.objects.filter(cart=cart, product_id__in=ids).delete()
        return _bump(cart) if deleted else _unchanged(cart)


def cart_clear(*, user=None, cart_id: uuid.UUID | None = None) -> Cart:
    """Remove every line. Version + 1 and an event only when the cart had lines. Returns the
    Cart with ``.data``. Raises ``NotFound`` ``cart_not_found`` for an unknown anonymous cart."""
    with transaction.atomic():
        cart = _lock_cart(user=user, cart_id=cart_id)
        deleted, _ = CartItem.objects.filter(cart=cart).delete()
        return _bump(cart) if deleted else _unchanged(cart)


def cart_merge_anonymous(*, user, anonymous_cart_id: Any) -> Cart:
    """Merge anonymous cart ``anonymous_cart_id`` into ``user``'s cart, then delete it (called
    at sign-in). Per product, quantities add up, capped at the available stock and at 999;
    lines of unavailable products, of another currency than the user's non-empty cart, or beyond
    the line limit are dropped. A missing, malformed or user-owned id changes nothing (merging
    twice is harmless). Version + 1 and ``cart.updated`` when a line changed. Returns the user's
    Cart with ``.data``."""
    if not is_active_user(user):
        raise Forbidden("Sign in to merge a cart.", code="not_authenticated")
    try:
        anon_id = uuid.UUID(str(anonymous_cart_id))
    except (ValueError, TypeError, AttributeError):
        return cart_get(user=user)
    with transaction.atomic():
        product_ids = list(
            CartItem.objects.filter(cart_id=anon_id, cart__user__isnull=True).values_list("product_id", flat=True)
        )
        _lock_products_shared(product_ids)
        if not Cart.objects.filter(user=user).exists():
            Cart.objects.bulk_create([Cart(user=user)], ignore_conflicts=True)
        carts = list(
            Cart.objects.select_for_update().filter(Q(user=user) | Q(pk=anon_id, user__isnull=True)).order_by("pk")
        )
        cart = next(c for c in carts if c.user_id == user.pk)
        anon = next((c for c in carts if c.pk == anon_id and c.user_id is None), None)
        if anon is None:
            return _unchanged(cart)
        existing = {i.product_id: i for i in CartItem.objects.filter(cart=cart)}
        changed = False
        currency = cart.currency if existing else None
        for line in CartItem.objects.filter(cart=anon).select_related("product__vendor").order_by("created_at", "id"):
            product = line.product
            if not product.is_purchasable or product.stock <= 0:
                continue
            if currency is not None and product.currency != currency:
                continue
            current = existing.get(product.pk)
            target = min((current.quantity if current else 0) + line.quantity, product.stock, MAX_LINE_QUANTITY)
            if current is None:
                if len(existing) >= MAX_CART_LINES:
                    continue
                existing[product.pk] = CartItem.objects.create(cart=cart, product=product, quantity=target)
                currency = cart.currency = product.currency
                changed = True
            elif target > current.quantity:
                current.quantity = target
                current.save(update_fields=["quantity", "updated_at"])
                changed = True
        anon.delete()
        return _bump(cart) if changed else _unchanged(cart)


def carts_refresh_for_products(*, product_ids: Iterable[uuid.UUID]) -> list[Cart]:
    """Every cart holding one of ``product_ids`` gets version + 1 and (user carts) a
    ``cart.updated`` event with its new content. Locks the carts in pk order; call it inside the
    transaction that changed the products, after locking them. Returns the carts."""
    ids = list(set(product_ids))
    return _refresh(Cart.objects.filter(pk__in=CartItem.objects.filter(product_id__in=ids).values("cart_id")))


def carts_refresh_for_vendor(*, vendor_id: uuid.UUID) -> list[Cart]:
    """Every cart holding a product of store ``vendor_id`` is refreshed as by
    :func:`carts_refresh_for_products` (its shipping methods or tax settings changed: the
    cart's ``shipping`` block shows them). Call inside the transaction that locked the store."""
    return _refresh(Cart.objects.filter(pk__in=CartItem.objects.filter(product__vendor_id=vendor_id).values("cart_id")))


def cart_refresh_for_user(*, user_id: uuid.UUID) -> list[Cart]:
    """The user's cart, when it has lines, is refreshed as by :func:`carts_refresh_for_products`
    (their addresses changed: the shipping offer is for the default shipping address)."""
    return _refresh(Cart.objects.filter(user_id=user_id, items__isnull=False).distinct())


def _refresh(carts_qs) -> list[Cart]:
    with transaction.atomic():
        carts = list(Cart.objects.select_for_update().filter(pk__in=carts_qs.values("pk")).order_by("pk"))
        if not carts:
            return []
        now = timezone.now()
        for cart in carts:
            cart.version += 1
            cart.updated_at = now
        Cart.objects.bulk_update(carts, ["version", "updated_at"])
        datas = selectors.carts_data(carts=carts)
        for cart in carts:
            _publish_cart(cart, datas[cart.pk])
    return carts
