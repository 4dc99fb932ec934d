"""Commerce business logic: vendor life cycle, catalogue writes, stock changes and the cart.

Every function is keyword-only and transactional (``transaction.atomic``; it joins the caller's
transaction when there is one). Refusals raise ``core.exceptions.ApplicationError`` subclasses
with stable codes; REST views and the ``cart:`` topic share these functions, so both give the
same codes.

Money is ``Decimal`` with two places plus an ISO 4217 ``currency``. Quantities are ints 1..999.

Lock order (avoids deadlocks between cart writes, product edits, checkout and vendor changes):
**vendor -> products (pk order) -> carts (pk order)**. Cart writes take ``FOR SHARE`` on the
products they read (so a concurrent price/stock change waits for them, or they for it) and then
``FOR UPDATE`` on the cart; product writes take ``FOR UPDATE`` on the product and then lock every
cart holding it. A caller (checkout, auctions) that locks a cart itself must lock the products
it touches first.

Realtime: every cart change bumps ``Cart.version`` by exactly one and, for a user's cart, calls
``realtime.outbox.publish(topic="cart:<user_id>", type="cart.updated", data=<cart response>)``
in the same transaction (sent after commit). Anonymous carts have no topic.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import Role
from realtime.outbox import publish

from commerce import selectors
from commerce.models import (
    MAX_CART_LINES,
    MAX_LINE_QUANTITY,
    VENDOR_TRANSITIONS,
    Brand,
    Cart,
    CartItem,
    Category,
    Product,
    ProductImage,
    ProductPriceChange,
    ProductStockChange,
    Vendor,
    VendorStaff,
    VendorStaffRole,
    VendorStatus,
)

CART_UPDATED = "cart.updated"
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 2_000_000_000
MAX_ATTRIBUTES = 50
MAX_IMAGES = 20


def _is_user(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _as_uuid(value: Any, *, code: str, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(f"{what} not found.", code=code) from None


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", status=400, fields={field: [message]})


# ============================================================================================
# Vendors
# ============================================================================================


def _unique_slug(model, base: str, *, max_length: int, scope: Q | None = None) -> str:
    base = (slugify(base) or "item")[: max_length - 8].strip("-") or "item"
    qs = model.objects.all()
    if scope is not None:
        qs = qs.filter(scope)
    taken = set(qs.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def vendor_apply(*, user, name: str, description: str = "") -> Vendor:
    """``user`` applies to open a store called ``name``: a ``pending`` Vendor owned by ``user``
    (also its first staff member, role ``owner``). The slug is derived from the name.

    Raises ``Forbidden`` for an anonymous user, ``ApplicationError`` (``invalid``) for an empty
    name and ``Conflict`` (``application_pending``) when the user already has a pending store.
    """
    if not _is_user(user):
        raise Forbidden("Sign in to apply as a vendor.", code="not_authenticated")
    name = (name or "").strip()
    if not name:
        raise _invalid("name", "This field may not be blank.")
    with transaction.atomic():
        if Vendor.objects.filter(owner=user, status=VendorStatus.PENDING).exists():
            raise Conflict("You already have a store waiting for approval.", code="application_pending")
        for _ in range(3):
            slug = _unique_slug(Vendor, name, max_length=140)
            try:
                with transaction.atomic():
                    vendor = Vendor.objects.create(name=name, slug=slug, description=description or "", owner=user)
                break
            except IntegrityError:  # a concurrent application took the slug: try the next one
                continue
        else:
            raise Conflict("Could not allocate a unique slug; try another name.", code="slug_taken")
        VendorStaff.objects.create(vendor=vendor, user=user, role=VendorStaffRole.OWNER)
    return vendor


def _grant_vendor_role(users: Iterable) -> None:
    for u in users:
        if Role.VENDOR not in (u.roles or []):
            u.roles = [*(u.roles or []), Role.VENDOR]
            u.save(update_fields=["roles"])


def vendor_set_status(*, vendor_id: uuid.UUID, status: str, actor) -> Vendor:
    """Move vendor ``vendor_id`` to ``status`` following ``VENDOR_TRANSITIONS``
    (pending -> active, active -> suspended, suspended -> active). Admins only.

    Activation gives the ``vendor`` role to the owner and staff. Any change refreshes (version
    bump + ``cart.updated``) every cart holding one of the vendor's products, since their
    availability changed.

    Raises ``Forbidden`` (``forbidden``) for a non-admin, ``NotFound`` (``vendor_not_found``),
    ``Conflict`` (``invalid_transition``, with ``status`` and ``allowed`` in the body).
    """
    if not _is_user(actor) or not actor.is_admin:
        raise Forbidden("Only an administrator may change a vendor's status.", code="forbidden")
    vendor_id = _as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound("Vendor not found.", code="vendor_not_found")
        if not vendor.can_transition_to(status):
            allowed = sorted(VENDOR_TRANSITIONS.get(vendor.status, ()))
            raise Conflict(
                f"A {vendor.status} vendor cannot become {status}"
                + (f" (allowed: {', '.join(allowed)})." if allowed else "."),
                code="invalid_transition",
                extra={"status": vendor.status, "allowed": allowed},
            )
        vendor.status = status
        vendor.status_changed_at = timezone.now()
        vendor.save(update_fields=["status", "status_changed_at", "updated_at"])
        if status == VendorStatus.ACTIVE:
            _grant_vendor_role(vendor.staff.all())
        product_ids = list(
            Product.objects.select_for_update().filter(vendor=vendor).order_by("pk").values_list("pk", flat=True)
        )
        if product_ids:
            carts_refresh_for_products(product_ids=product_ids)
    return vendor


def vendor_activate(*, vendor_id: uuid.UUID, actor) -> Vendor:
    """Admin approves a store: ``pending``/``suspended`` -> ``active``. See :func:`vendor_set_status`."""
    return vendor_set_status(vendor_id=vendor_id, status=VendorStatus.ACTIVE, actor=actor)


def vendor_suspend(*, vendor_id: uuid.UUID, actor) -> Vendor:
    """Admin suspends a store: ``active`` -> ``suspended`` (its products disappear from the
    catalogue and become unavailable in carts). See :func:`vendor_set_status`."""
    return vendor_set_status(vendor_id=vendor_id, status=VendorStatus.SUSPENDED, actor=actor)


def vendor_staff_add(*, vendor_id: uuid.UUID, user, actor, role: str = VendorStaffRole.STAFF) -> VendorStaff:
    """Add ``user`` to the staff of vendor ``vendor_id`` (idempotent). Allowed to the vendor's
    owner and admins. Staff of an active vendor get the ``vendor`` role.

    Raises ``NotFound`` (``vendor_not_found``) and ``Forbidden`` (``forbidden``).
    """
    vendor_id = _as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound("Vendor not found.", code="vendor_not_found")
        if not _is_user(actor) or not (actor.is_admin or vendor.owner_id == actor.pk):
            raise Forbidden("Only the store owner or an administrator may add staff.", code="forbidden")
        membership, _ = VendorStaff.objects.get_or_create(vendor=vendor, user=user, defaults={"role": role})
        if vendor.status == VendorStatus.ACTIVE:
            _grant_vendor_role([user])
    return membership


# ============================================================================================
# Catalogue
# ============================================================================================


def validate_attributes(value: Any) -> dict[str, Any]:
    """Check product ``attributes``: a JSON object of at most 50 keys (1..64 characters, no
    ``:``) whose values are strings (<= 500 characters, no NUL), finite numbers, booleans or
    lists (<= 50) of those.
    Returns the value; raises ``ApplicationError`` (``invalid``, field ``attributes``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid("attributes", "Must be a JSON object.")
    if len(value) > MAX_ATTRIBUTES:
        raise _invalid("attributes", f"At most {MAX_ATTRIBUTES} attributes.")

    def scalar_ok(v: Any) -> bool:
        if isinstance(v, str):
            return len(v) <= 500 and "\x00" not in v  # PostgreSQL jsonb cannot hold NUL
        if isinstance(v, float):
            return v == v and v not in (float("inf"), float("-inf"))
        return isinstance(v, bool) or (isinstance(v, int) and abs(v) <= 10**15)

    for key, v in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 64 or ":" in key or "\x00" in key:
            raise _invalid("attributes", "Keys must be 1-64 characters without ':' or NUL.")
        ok = scalar_ok(v) or (isinstance(v, list) and len(v) <= 50 and all(scalar_ok(x) for x in v))
        if not ok:
            raise _invalid("attributes", f"Attribute {key!r} must be a string, number, boolean or a list of those.")
    return value


def _validate_price(value: Any) -> Decimal:
    """A product price: a decimal string (or an integer or Decimal), 0.00 to ``MAX_PRICE`` with at
    most two decimals. JSON numbers with a fraction (floats) and booleans are refused (``invalid``)."""
    if isinstance(value, (float, bool)):
        raise _invalid("price", "Send the price as a decimal string such as \"19.99\", not a JSON number with a fraction.")
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise _invalid("price", "A valid number is required.") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise _invalid("price", "Price must be between 0.00 and 9999999999.99 with at most 2 decimal places.")
    return price.quantize(Decimal("0.01"))


def _validate_stock(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STOCK:
        raise _invalid("stock", f"Stock must be an integer between 0 and {MAX_STOCK}.")
    return value


def _validate_currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY_RE.match(value):
        raise _invalid("currency", "Currency must be an ISO 4217 code of three upper-case letters.")
    return value


def _validate_images(images: Any) -> list[dict[str, Any]]:
    if not isinstance(images, list) or len(images) > MAX_IMAGES:
        raise _invalid("images", f"Give a list of at most {MAX_IMAGES} images.")
    out = []
    for i, img in enumerate(images):
        url = img.get("url") if isinstance(img, dict) else None
        if not isinstance(url, str) or not 1 <= len(url) <= 500:
            raise _invalid("images", "Each image needs a url of 1-500 characters.")
        pos = img.get("position", i)
        if isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos <= 10_000:
            raise _invalid("images", "An image position must be an integer between 0 and 10000.")
        out.append({"url": url, "position": pos, "alt_text": str(img.get("alt_text") or "")[:200]})
    return out


def _check_category(category_id: Any) -> int:
    if isinstance(category_id, bool) or not isinstance(category_id, int) or not Category.objects.filter(pk=category_id).exists():
        raise _invalid("category_id", "Unknown category.")
    return category_id


def _check_brand(brand_id: Any) -> int | None:
    if brand_id is None:
        return None
    if isinstance(brand_id, bool) or not isinstance(brand_id, int) or not Brand.objects.filter(pk=brand_id).exists():
        raise _invalid("brand_id", "Unknown brand.")
    return brand_id


def _check_sku(sku: Any, *, vendor_id: uuid.UUID, exclude_pk: uuid.UUID | None = None) -> str:
    if not isinstance(sku, str) or not 1 <= len(sku.strip()) <= 64:
        raise _invalid("sku", "SKU must be 1-64 characters.")
    sku = sku.strip()
    qs = Product.objects.alive().filter(vendor_id=vendor_id, sku=sku)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise Conflict(f"SKU {sku!r} is already used by another of your products.", code="sku_taken",
                       fields={"sku": ["Already used."]})
    return sku


def _resolve_vendor_for_create(*, user, vendor_id: uuid.UUID | None) -> uuid.UUID:
    active_ids = selectors.vendor_ids_for_user(user, active_only=True)
    if not active_ids:
        raise Forbidden("Only staff of an active vendor may create products.", code="not_vendor")
    if vendor_id is None:
        if len(active_ids) > 1:
            raise _invalid("vendor_id", "You act for several stores; say which one.")
        return active_ids[0]
    vendor_id = _as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    if vendor_id not in active_ids:
        raise Forbidden("You are not staff of this (active) vendor.", code="not_vendor")
    return vendor_id


def product_create(
    *,
    user,
    category_id: int,
    name: str,
    sku: str,
    price: Decimal,
    currency: str = "EUR",
    stock: int = 0,
    description: str = "",
    brand_id: int | None = None,
    attributes: dict[str, Any] | None = None,
    is_active: bool = True,
    images: list[dict[str, Any]] | None = None,
    vendor_id: uuid.UUID | None = None,
) -> Product:
    """Create a product for vendor ``vendor_id`` (optional when ``user`` is staff of exactly one
    active vendor). ``price`` Decimal >= 0 with 2 places in ``currency`` (ISO 4217); ``stock``
    int >= 0; ``images`` ``[{"url", "position"?, "alt_text"?}]``. Writes the initial stock and
    price history rows.

    Raises ``Forbidden`` (``not_vendor``) when ``user`` is not staff of that active vendor,
    ``ApplicationError`` (``invalid`` with ``fields``) for bad values or an unknown category or
    brand, ``Conflict`` (``sku_taken``) when the vendor already has a live product with ``sku``.
    """
    vendor_id = _resolve_vendor_for_create(user=user, vendor_id=vendor_id)
    name = (name or "").strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 200:
        raise _invalid("name", "Name must be 1-200 characters.")
    price = _validate_price(price)
    currency = _validate_currency(currency)
    stock = _validate_stock(stock)
    attributes = validate_attributes(attributes)
    category_id = _check_category(category_id)
    brand_id = _check_brand(brand_id)
    image_rows = _validate_images(images or [])
    with transaction.atomic():
        sku = _check_sku(sku, vendor_id=vendor_id)
        slug = _unique_slug(Product, name, max_length=220, scope=Q(vendor_id=vendor_id, deleted_at__isnull=True))
        try:
            with transaction.atomic():
                product = Product.objects.create(
                    vendor_id=vendor_id, category_id=category_id, brand_id=brand_id, name=name, slug=slug,
                    sku=sku, description=description or "", price=price, currency=currency, stock=stock,
                    attributes=attributes, is_active=bool(is_active),
                )
        except IntegrityError:
            raise Conflict(f"SKU {sku!r} is already used by another of your products.", code="sku_taken") from None
        ProductImage.objects.bulk_create([ProductImage(product=product, **row) for row in image_rows])
        ProductPriceChange.objects.create(
            product=product, old_price=price, new_price=price, currency=currency, changed_by=user
        )
        ProductStockChange.objects.create(product=product, old_stock=0, new_stock=stock, reason="created", changed_by=user)
    return product


#: fields a vendor may change with :func:`product_update`
PRODUCT_UPDATABLE = frozenset(
    {"name", "description", "category_id", "brand_id", "sku", "price", "stock", "attributes", "is_active", "images"}
)
#: fields that appear in cart lines: changing one refreshes the carts holding the product
_CART_VISIBLE = frozenset({"name", "sku", "price", "stock", "is_active", "images"})


def product_update(*, user, product_id: uuid.UUID, **changes: Any) -> Product:
    """Change a product of one of ``user``'s active vendors. ``changes`` may hold any of
    ``PRODUCT_UPDATABLE`` (``currency`` cannot change: carts are single-currency). ``images``
    replaces the image list.

    A price change writes a :class:`ProductPriceChange`, a stock change a
    :class:`ProductStockChange` (reason ``vendor_update``), both with ``changed_by=user``. When a
    field shown in carts changes (price, stock, name, sku, is_active, images) every cart holding
    the product gets ``version + 1`` and a ``cart.updated`` event.

    Raises ``Forbidden`` (``not_vendor``), ``NotFound`` (``product_not_found``: unknown,
    deleted or another vendor's), ``ApplicationError`` (``invalid``), ``Conflict`` (``sku_taken``).
    """
    unknown = set(changes) - PRODUCT_UPDATABLE
    if unknown:
        raise _invalid(sorted(unknown)[0], "This field cannot be changed.")
    product_id = _as_uuid(product_id, code="product_not_found", what="Product")
    selectors.product_get_editable(user=user, product_id=product_id)  # permission, before locking
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id, deleted_at__isnull=True).first()
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
        changed: set[str] = set()
        old_price, old_stock = product.price, product.stock
        before = {f: getattr(product, f) for f in _CART_VISIBLE if f != "images"}
        if "name" in changes:
            name = changes["name"].strip() if isinstance(changes["name"], str) else ""
            if not 1 <= len(name) <= 200:
                raise _invalid("name", "Name must be 1-200 characters.")
            product.name = name
        if "description" in changes:
            product.description = str(changes["description"] or "")
        if "category_id" in changes:
            product.category_id = _check_category(changes["category_id"])
        if "brand_id" in changes:
            product.brand_id = _check_brand(changes["brand_id"])
        if "sku" in changes:
            product.sku = _check_sku(changes["sku"], vendor_id=product.vendor_id, exclude_pk=product.pk)
        if "price" in changes:
            product.price = _validate_price(changes["price"])
        if "stock" in changes:
            product.stock = _validate_stock(changes["stock"])
        if "attributes" in changes:
            product.attributes = validate_attributes(changes["attributes"])
        if "is_active" in changes:
            product.is_active = bool(changes["is_active"])
        for field, old in before.items():
            if getattr(product, field) != old:
                changed.add(field)
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:
            raise Conflict("SKU is already used by another of your products.", code="sku_taken") from None
        if "images" in changes:
            rows = _validate_images(changes["images"])
            product.images.all().delete()
            ProductImage.objects.bulk_create([ProductImage(product=product, **row) for row in rows])
            changed.add("images")
        if product.price != old_price:
            ProductPriceChange.objects.create(
                product=product, old_price=old_price, new_price=product.price, currency=product.currency, changed_by=user
            )
        if product.stock != old_stock:
            ProductStockChange.objects.create(
                product=product, old_stock=old_stock, new_stock=product.stock, reason="vendor_update", changed_by=user
            )
        if changed & _CART_VISIBLE:
            carts_refresh_for_products(product_ids=[product.pk])
    return product


def product_delete(*, user, product_id: uuid.UUID) -> None:
    """Soft-delete a product of one of ``user``'s active vendors (sets ``deleted_at``; it leaves
    the catalogue, its SKU becomes free, carts holding it show it unavailable and are refreshed).

    Raises ``Forbidden`` (``not_vendor``), ``NotFound`` (``product_not_found``).
    """
    product_id = _as_uuid(product_id, code="product_not_found", what="Product")
    selectors.product_get_editable(user=user, product_id=product_id)
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id, deleted_at__isnull=True).first()
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
        product.deleted_at = timezone.now()
        product.save(update_fields=["deleted_at", "updated_at"])
        carts_refresh_for_products(product_ids=[product.pk])


def products_adjust_stock(
    *, changes: dict[uuid.UUID, int], reason: str, actor=None
) -> list[Product]:
    """Add ``delta`` to the stock of each product in ``changes`` ({product id: delta}, negative
    to take units). For checkout, reservations and returns. Locks the products in pk order,
    writes one :class:`ProductStockChange` per product with ``reason`` and ``changed_by=actor``,
    and refreshes the carts holding them. All or nothing.

    Raises ``NotFound`` (``product_not_found``) for an unknown product and ``Conflict``
    (``insufficient_stock``, body has ``product_id`` and ``available_stock``) when a stock would
    go below zero.
    """
    ids = sorted({_as_uuid(pid, code="product_not_found", what="Product") for pid in changes})
    deltas = {_as_uuid(k, code="product_not_found", what="Product"): int(v) for k, v in changes.items()}
    with transaction.atomic():
        products = list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(products) != len(ids):
            raise NotFound("Product not found.", code="product_not_found")
        history = []
        for p in products:
            new = p.stock + deltas[p.pk]
            if new < 0:
                raise Conflict(
                    f"Only {p.stock} of {p.sku} in stock.",
                    code="insufficient_stock",
                    extra={"product_id": str(p.pk), "available_stock": p.stock},
                )
            if new != p.stock:
                history.append(ProductStockChange(product=p, old_stock=p.stock, new_stock=new, reason=reason[:64], changed_by=actor))
                p.stock = new
                p.updated_at = timezone.now()
        Product.objects.bulk_update(products, ["stock", "updated_at"])
        ProductStockChange.objects.bulk_create(history)
        if history:
            carts_refresh_for_products(product_ids=[h.product_id for h in history])
    return products


# ============================================================================================
# Cart
# ============================================================================================


def _validate_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise _invalid("quantity", f"Quantity must be an integer between 1 and {MAX_LINE_QUANTITY}.")
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


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise Conflict(
            f"Only {product.stock} of {product.name} in stock; {quantity} requested.",
            code="insufficient_stock",
            extra={"product_id": str(product.pk), "available_stock": product.stock},
        )


def _lock_cart(*, user, cart_id: uuid.UUID | None) -> Cart:
    """Lock (FOR UPDATE) the user's cart (creating it) or the anonymous cart ``cart_id``."""
    if _is_user(user):
        cart = Cart.objects.select_for_update().filter(user=user).first()
        if cart is None:
            Cart.objects.bulk_create([Cart(user=user)], ignore_conflicts=True)
            cart = Cart.objects.select_for_update().get(user=user)
        return cart
    if cart_id is None:
        raise NotFound("Cart not found.", code="cart_not_found")
    cart_id = _as_uuid(cart_id, code="cart_not_found", what="Cart")
    cart = Cart.objects.select_for_update().filter(pk=cart_id, user__isnull=True).first()
    if cart is None:
        raise NotFound("Cart not found.", code="cart_not_found")
    return cart


def _cart_filter(*, user, cart_id: uuid.UUID | None) -> Q:
    if _is_user(user):
        return Q(cart__user=user)
    cart_id = _as_uuid(cart_id, code="cart_not_found", what="Cart") if cart_id is not None else None
    return Q(cart_id=cart_id, cart__user__isnull=True)


def _publish_cart(cart: Cart, data: dict[str, Any]) -> None:
    cart.data = data  # type: ignore[attr-defined]
    if cart.user_id:
        publish(topic=f"cart:{cart.user_id}", type=CART_UPDATED, data=data)


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
    if _is_user(user):
        return _unchanged(selectors.cart_for_user(user=user))
    cart_id = _as_uuid(cart_id, code="cart_not_found", what="Cart") if cart_id is not None else None
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
    product_id = _as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        _lock_products_shared([product_id])
        product = _purchasable_product(product_id)
        cart = _lock_cart(user=user, cart_id=cart_id)
        item = CartItem.objects.filter(cart=cart, product=product).first()
        if item is None:
            lines = CartItem.objects.filter(cart=cart).count()
            if lines and cart.currency != product.currency:
                raise Conflict(
                    f"Your cart is in {cart.currency}; {product.name} is priced in {product.currency}.",
                    code="currency_mismatch",
                )
            if lines >= MAX_CART_LINES:
                raise Conflict(f"A cart holds at most {MAX_CART_LINES} different products.", code="cart_full")
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
        raise _invalid("item_id", "Give item_id or product_id.")
    if item_id is not None:
        item_id = _as_uuid(item_id, code="cart_item_not_found", what="Cart item")
        found = CartItem.objects.filter(_cart_filter(user=user, cart_id=cart_id), pk=item_id).values_list(
            "product_id", flat=True
        ).first()
        if found is None:
            raise NotFound("Cart item not found.", code="cart_item_not_found")
        product_id = found
    else:
        product_id = _as_uuid(product_id, code="product_not_found", what="Product")
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
            lines = CartItem.objects.filter(cart=cart).count()
            if lines and cart.currency != product.currency:
                raise Conflict(
                    f"Your cart is in {cart.currency}; {product.name} is priced in {product.currency}.",
                    code="currency_mismatch",
                )
            if lines >= MAX_CART_LINES:
                raise Conflict(f"A cart holds at most {MAX_CART_LINES} different products.", code="cart_full")
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
    item_id = _as_uuid(item_id, code="cart_item_not_found", what="Cart item")
    with transaction.atomic():
        cart = _lock_cart(user=user, cart_id=cart_id)
        deleted, _ = CartItem.objects.filter(cart=cart, pk=item_id).delete()
        if not deleted:
            raise NotFound("Cart item not found.", code="cart_item_not_found")
        return _bump(cart)


def cart_remove_products(*, user, product_ids: Iterable[uuid.UUID]) -> Cart:
    """Remove the lines of ``product_ids`` from ``user``'s cart (e.g. after checkout ordered
    them); missing lines are ignored. Version + 1 only when a line went. Returns the Cart."""
    ids = [_as_uuid(p, code="product_not_found", what="Product") for p in product_ids]
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
    if not _is_user(user):
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
    with transaction.atomic():
        carts = list(
            Cart.objects.select_for_update()
            .filter(pk__in=CartItem.objects.filter(product_id__in=ids).values("cart_id"))
            .order_by("pk")
        )
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
