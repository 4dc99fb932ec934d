"""Catalogue writes: products (create, change, soft-delete) with their price and stock history,
and stock adjustments for checkout, reservations, auctions and returns.

Every function is keyword-only and transactional; refusals raise ``core.exceptions`` errors with
stable codes. A product write locks the product ``FOR UPDATE`` and, when something carts show
changed, sends ``commerce.catalog.signals.products_changed`` under that lock (the cart room
refreshes the carts holding it). Lock order: **vendor -> products (pk order) -> carts (pk
order)**; a caller that locks carts itself locks the products it touches first.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import Conflict, Forbidden, NotFound
from realtime import outbox

from commerce.catalog.events import PRODUCT_TOPIC, ProductRatingChanged
from commerce.catalog.media import ensure_primary
from commerce.catalog.models import (
    MAX_STOCK,
    Brand,
    Category,
    Product,
    ProductImage,
    ProductPriceChange,
    ProductStockChange,
)
from commerce.catalog.pages import publish_pages
from commerce.catalog.selectors import product_get_editable
from commerce.catalog.signals import products_changed
from commerce.common.validation import as_uuid, invalid, slug_among, slug_base, unique_slug
from commerce.stores.permissions import MANAGING_ROLES, is_store_staff, store_ids_of
from commerce.tax.models import TaxClass


CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

MAX_PRICE = Decimal("9999999999.99")

MAX_ATTRIBUTES = 50

#: the physical fields of a product (one unit, packed): weight in grams, dimensions in millimetres
PHYSICAL_FIELDS = ("weight_g", "length_mm", "width_mm", "height_mm")

#: at most 1,000 kg and 100 m: more is a typo, not a parcel
MAX_WEIGHT_G = 1_000_000
MAX_LENGTH_MM = 100_000


def validate_attributes(value: Any) -> dict[str, Any]:
    """Check product ``attributes``: a JSON object of at most 50 keys (1..64 characters, no
    ``:``) whose values are strings (<= 500 characters, no NUL), finite numbers, booleans or
    lists (<= 50) of those.
    Returns the value; raises ``ApplicationError`` (``invalid``, field ``attributes``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("attributes", "Must be a JSON object.")
    if len(value) > MAX_ATTRIBUTES:
        raise invalid("attributes", f"At most {MAX_ATTRIBUTES} attributes.")

    def scalar_ok(v: Any) -> bool:
        if isinstance(v, str):
            return len(v) <= 500 and "\x00" not in v  # PostgreSQL jsonb cannot hold NUL
        if isinstance(v, float):
            return v == v and v not in (float("inf"), float("-inf"))
        return isinstance(v, bool) or (isinstance(v, int) and abs(v) <= 10**15)

    for key, v in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 64 or ":" in key or "\x00" in key:
            raise invalid("attributes", "Keys must be 1-64 characters without ':' or NUL.")
        ok = scalar_ok(v) or (isinstance(v, list) and len(v) <= 50 and all(scalar_ok(x) for x in v))
        if not ok:
            raise invalid("attributes", f"Attribute {key!r} must be a string, number, boolean or a list of those.")
    return value


def _validate_price(value: Any) -> Decimal:
    """A product price: a decimal string (or an integer or Decimal), 0.00 to ``MAX_PRICE`` with at
    most two decimals. JSON numbers with a fraction (floats) and booleans are refused (``invalid``)."""
    if isinstance(value, (float, bool)):
        raise invalid("price", "Send the price as a decimal string such as \"19.99\", not a JSON number with a fraction.")
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise invalid("price", "A valid number is required.") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise invalid("price", "Price must be between 0.00 and 9999999999.99 with at most 2 decimal places.")
    return price.quantize(Decimal("0.01"))


def _validate_stock(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STOCK:
        raise invalid("stock", f"Stock must be an integer between 0 and {MAX_STOCK}.")
    return value


def _validate_currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY_RE.match(value):
        raise invalid("currency", "Currency must be an ISO 4217 code of three upper-case letters.")
    return value


def _validate_images(images: Any) -> list[dict[str, Any]]:
    most = int(settings.PRODUCT_IMAGES_MAX)
    if not isinstance(images, list) or len(images) > most:
        raise invalid("images", f"Give a list of at most {most} images.")
    out = []
    for i, img in enumerate(images):
        url = img.get("url") if isinstance(img, dict) else None
        if not isinstance(url, str) or not 1 <= len(url) <= 500:
            raise invalid("images", "Each image needs a url of 1-500 characters.")
        pos = img.get("position", i)
        if isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos <= 10_000:
            raise invalid("images", "An image position must be an integer between 0 and 10000.")
        out.append({"url": url, "position": pos, "alt_text": str(img.get("alt_text") or "")[:200]})
    return out


def _validate_physical(field: str, value: Any) -> int | None:
    """A product's weight (g) or dimension (mm): null (unknown) or a positive JSON integer up to
    :data:`MAX_WEIGHT_G` / :data:`MAX_LENGTH_MM`. Raises ``ApplicationError`` ``invalid``."""
    if value is None:
        return None
    top = MAX_WEIGHT_G if field == "weight_g" else MAX_LENGTH_MM
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        unit = "grams" if field == "weight_g" else "millimetres"
        raise invalid(field, f"Give a whole number of {unit} from 1 to {top}, or null.")
    return value


def _validate_tax_class(value: Any) -> str:
    if value not in TaxClass.values:
        raise invalid("tax_class", f"One of {', '.join(TaxClass.values)}.")
    return value


def _check_category(category_id: Any) -> int:
    if isinstance(category_id, bool) or not isinstance(category_id, int) or not Category.objects.filter(pk=category_id).exists():
        raise invalid("category_id", "Unknown category.")
    return category_id


def _check_brand(brand_id: Any) -> int | None:
    if brand_id is None:
        return None
    if isinstance(brand_id, bool) or not isinstance(brand_id, int) or not Brand.objects.filter(pk=brand_id).exists():
        raise invalid("brand_id", "Unknown brand.")
    return brand_id


def _check_sku(sku: Any, *, vendor_id: uuid.UUID, exclude_pk: uuid.UUID | None = None) -> str:
    if not isinstance(sku, str) or not 1 <= len(sku.strip()) <= 64:
        raise invalid("sku", "SKU must be 1-64 characters.")
    sku = sku.strip()
    qs = Product.objects.alive().filter(vendor_id=vendor_id, sku=sku)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise Conflict(f"SKU {sku!r} is already used by another of your products.", code="sku_taken",
                       fields={"sku": ["Already used."]})
    return sku


def _resolve_vendor_for_create(*, user, vendor_id: uuid.UUID | None) -> uuid.UUID:
    """The store a product is created for: one whose products ``user`` manages (its owners and
    managers, ``commerce.stores.permissions.can_manage_products``)."""
    managed = store_ids_of(user, active_only=True, roles=MANAGING_ROLES)
    if vendor_id is None:
        if len(managed) > 1:
            raise invalid("vendor_id", "You act for several stores; say which one.")
        if managed:
            return managed[0]
        vendor_id = next(iter(store_ids_of(user, active_only=True)), None)
        if vendor_id is None:
            raise Forbidden("Only staff of an active vendor may create products.", code="not_vendor")
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    if vendor_id not in managed:
        if is_store_staff(user, vendor_id, active_only=True):
            raise Forbidden("Only the store's owners and managers manage its products.", code="role_forbidden")
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
    tax_class: str = TaxClass.STANDARD,
    weight_g: int | None = None,
    length_mm: int | None = None,
    width_mm: int | None = None,
    height_mm: int | None = None,
) -> Product:
    """Create a product for vendor ``vendor_id`` (optional when ``user`` is staff of exactly one
    active vendor). ``price`` Decimal >= 0 with 2 places in ``currency`` (ISO 4217); ``stock``
    int >= 0; ``images`` ``[{"url", "position"?, "alt_text"?}]``; ``tax_class`` one of
    ``commerce.tax.models.TaxClass``; ``weight_g`` grams and ``length_mm``/``width_mm``/``height_mm``
    millimetres of one packed unit (null: unknown). Writes the initial stock and price history
    rows.

    Raises ``Forbidden`` (``not_vendor``) when ``user`` is not staff of that active vendor,
    (``role_forbidden``) when they are, with the ``staff`` role (owners and managers manage
    products),
    ``ApplicationError`` (``invalid`` with ``fields``) for bad values or an unknown category or
    brand, ``Conflict`` (``sku_taken``) when the vendor already has a live product with ``sku``.
    """
    vendor_id = _resolve_vendor_for_create(user=user, vendor_id=vendor_id)
    values = product_values_check({
        "name": name, "description": description, "price": price, "currency": currency, "stock": stock,
        "attributes": attributes, "category_id": category_id, "brand_id": brand_id, "images": images or [],
        "tax_class": tax_class, "weight_g": weight_g, "length_mm": length_mm, "width_mm": width_mm,
        "height_mm": height_mm, "is_active": is_active})
    _check_references([values])
    image_rows, name, price, currency = values.pop("images"), values["name"], values["price"], values["currency"]
    with transaction.atomic():
        sku = _check_sku(sku, vendor_id=vendor_id)
        slug = unique_slug(Product, name, max_length=220, scope=Q(vendor_id=vendor_id, deleted_at__isnull=True))
        try:
            with transaction.atomic():
                product = Product.objects.create(vendor_id=vendor_id, slug=slug, sku=sku, **values)
        except IntegrityError:
            raise Conflict(f"SKU {sku!r} is already used by another of your products.", code="sku_taken") from None
        ProductImage.objects.bulk_create([ProductImage(product=product, **row) for row in image_rows])
        ensure_primary(product)
        ProductPriceChange.objects.create(
            product=product, old_price=price, new_price=price, currency=currency, changed_by=user
        )
        ProductStockChange.objects.create(product=product, old_stock=0, new_stock=product.stock, reason="created",
                                          changed_by=user)
    return product


#: fields a vendor may change with :func:`product_update`
PRODUCT_UPDATABLE = frozenset(
    {"name", "description", "category_id", "brand_id", "sku", "price", "stock", "attributes", "is_active", "images",
     "tax_class", *PHYSICAL_FIELDS}
)

#: fields that carts show (lines, and shipping prices by weight): changing one refreshes the
#: carts holding the product
CART_VISIBLE = frozenset({"name", "sku", "price", "stock", "is_active", "images", *PHYSICAL_FIELDS})


def product_update(*, user, product_id: uuid.UUID, **changes: Any) -> Product:
    """Change a product of one of ``user``'s active vendors. ``changes`` may hold any of
    ``PRODUCT_UPDATABLE`` (``currency`` cannot change: carts are single-currency). ``images``
    replaces the linked images (by URL); uploaded ones stay (``commerce.catalog.media``).

    A price change writes a :class:`ProductPriceChange`, a stock change a
    :class:`ProductStockChange` (reason ``vendor_update``), both with ``changed_by=user``. When a
    field shown in carts changes (price, stock, name, sku, is_active, images, weight and
    dimensions: they price shipping) every cart holding
    the product gets ``version + 1`` and a ``cart.updated`` event.

    Raises ``Forbidden`` (``not_vendor``), ``NotFound`` (``product_not_found``: unknown,
    deleted or another vendor's), ``ApplicationError`` (``invalid``), ``Conflict`` (``sku_taken``).
    """
    unknown = set(changes) - PRODUCT_UPDATABLE
    if unknown:
        raise invalid(sorted(unknown)[0], "This field cannot be changed.")
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    product_get_editable(user=user, product_id=product_id)  # permission, before locking
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id, deleted_at__isnull=True).first()
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
        old_price, old_stock = product.price, product.stock
        before = {f: getattr(product, f) for f in CART_VISIBLE if f != "images"}
        _apply_changes(product, changes)
        changed = {field for field, old in before.items() if getattr(product, field) != old}
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:
            raise Conflict("SKU is already used by another of your products.", code="sku_taken") from None
        if "images" in changes:
            _replace_images(product, changes["images"])
            changed.add("images")
        _record_history(product, old_price=old_price, old_stock=old_stock, user=user)
        if changed & CART_VISIBLE:
            products_changed.send(sender=Product, product_ids=[product.pk])
        if changes:
            publish_pages(product_ids=[product.pk])
    return product


def _apply_changes(product: Product, changes: dict[str, Any]) -> None:
    """Step 1 of :func:`product_update`: check each field of ``changes`` (``images`` aside) and set
    it on the locked ``product`` (not saved). Raises ``ApplicationError`` ``invalid``,
    ``Conflict`` ``sku_taken``."""
    if "name" in changes:
        name = changes["name"].strip() if isinstance(changes["name"], str) else ""
        if not 1 <= len(name) <= 200:
            raise invalid("name", "Name must be 1-200 characters.")
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
    if "tax_class" in changes:
        product.tax_class = _validate_tax_class(changes["tax_class"])
    for field in PHYSICAL_FIELDS:
        if field in changes:
            setattr(product, field, _validate_physical(field, changes[field]))


def _replace_images(product: Product, images: Any) -> None:
    """Step 2: the product's *linked* images (by URL) become ``images`` (checked first);
    uploaded images stay (they are managed through ``commerce.catalog.media``). The product keeps
    one primary image. Raises ``ApplicationError`` ``invalid``, ``Conflict`` ``too_many_images``."""
    rows = _validate_images(images)
    uploads = product.images.exclude(file="").count()
    if uploads + len(rows) > int(settings.PRODUCT_IMAGES_MAX):
        raise Conflict(f"A product has at most {settings.PRODUCT_IMAGES_MAX} images ({uploads} uploaded).",
                       code="too_many_images")
    product.images.filter(file="").delete()
    ProductImage.objects.bulk_create([ProductImage(product=product, **row) for row in rows])
    ensure_primary(product)


def _record_history(product: Product, *, old_price, old_stock: int, user) -> None:
    """Step 3: a price change and a stock change (reason ``vendor_update``) are kept, by ``user``."""
    for row in _history_rows(product, old_price=old_price, old_stock=old_stock, user=user):
        row.save(force_insert=True)


def _history_rows(product: Product, *, old_price, old_stock: int,
                  user) -> list[ProductPriceChange | ProductStockChange]:
    """The unsaved history rows of a vendor's change of ``product`` (by ``user``): a price change
    when the price moved, a stock change (reason ``vendor_update``) when the stock did. Written
    one by one by :func:`_record_history`, in bulk by :func:`products_bulk_update`."""
    rows: list[ProductPriceChange | ProductStockChange] = []
    if product.price != old_price:
        rows.append(ProductPriceChange(product=product, old_price=old_price, new_price=product.price,
                                       currency=product.currency, changed_by=user))
    if product.stock != old_stock:
        rows.append(ProductStockChange(product=product, old_stock=old_stock, new_stock=product.stock,
                                       reason="vendor_update", changed_by=user))
    return rows


def product_delete(*, user, product_id: uuid.UUID) -> None:
    """Soft-delete a product of one of ``user``'s active vendors (sets ``deleted_at``; it leaves
    the catalogue, its SKU becomes free, carts holding it show it unavailable and are refreshed).

    Raises ``Forbidden`` (``not_vendor``), ``NotFound`` (``product_not_found``).
    """
    product_id = as_uuid(product_id, code="product_not_found", what="Product")
    product_get_editable(user=user, product_id=product_id)
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id, deleted_at__isnull=True).first()
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
        product.deleted_at = timezone.now()
        product.save(update_fields=["deleted_at", "updated_at"])
        products_changed.send(sender=Product, product_ids=[product.pk])
        publish_pages(product_ids=[product.pk])


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
    ids = sorted({as_uuid(pid, code="product_not_found", what="Product") for pid in changes})
    deltas = {as_uuid(k, code="product_not_found", what="Product"): int(v) for k, v in changes.items()}
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
            products_changed.send(sender=Product, product_ids=[h.product_id for h in history])
            publish_pages(product_ids=[h.product_id for h in history])
    return products


# --- many products at once (catalogue imports) ---------------------------------------------------

#: the fields :func:`products_bulk_create` / :func:`products_bulk_update` take (besides ``sku``
#: for a create); a SKU never changes in bulk
BULK_FIELDS = frozenset(PRODUCT_UPDATABLE - {"sku"} | {"currency"})


def product_values_check(values: dict[str, Any]) -> dict[str, Any]:
    """Check the product fields in ``values`` (any of :data:`BULK_FIELDS`, each optional;
    ``category_id`` and ``brand_id`` only for their type: the caller resolved them) with the
    checks of :func:`product_create`, in its order, without a query. Returns the cleaned values
    (name stripped, price quantized, images with positions). Raises ``ApplicationError``
    ``invalid`` naming the field, as :func:`product_create` would."""
    unknown = set(values) - BULK_FIELDS
    if unknown:
        raise invalid(sorted(unknown)[0], "This field cannot be set here.")
    out = dict(values)
    if "name" in values:
        name = values["name"].strip() if isinstance(values["name"], str) else ""
        if not 1 <= len(name) <= 200:
            raise invalid("name", "Name must be 1-200 characters.")
        out["name"] = name
    if "description" in values:
        out["description"] = str(values["description"] or "")
    if "price" in values:
        out["price"] = _validate_price(values["price"])
    if "currency" in values:
        out["currency"] = _validate_currency(values["currency"])
    if "stock" in values:
        out["stock"] = _validate_stock(values["stock"])
    if "attributes" in values:
        out["attributes"] = validate_attributes(values["attributes"])
    if "category_id" in values and (isinstance(values["category_id"], bool) or not isinstance(values["category_id"], int)):
        raise invalid("category_id", "Unknown category.")
    if "brand_id" in values and values["brand_id"] is not None and (
            isinstance(values["brand_id"], bool) or not isinstance(values["brand_id"], int)):
        raise invalid("brand_id", "Unknown brand.")
    if "images" in values:
        out["images"] = _validate_images(values["images"] or [])
    if "tax_class" in values:
        out["tax_class"] = _validate_tax_class(values["tax_class"])
    for field in PHYSICAL_FIELDS:
        if field in values:
            out[field] = _validate_physical(field, values[field])
    if "is_active" in values:
        out["is_active"] = bool(values["is_active"])
    return out


def _check_references(rows: Any) -> None:
    """Every ``category_id`` / ``brand_id`` of ``rows`` (dicts) exists: two queries in all.
    Raises ``ApplicationError`` ``invalid`` as :func:`_check_category` / :func:`_check_brand`."""
    categories = {r["category_id"] for r in rows if "category_id" in r}
    brands = {r["brand_id"] for r in rows if r.get("brand_id") is not None}
    if categories and Category.objects.filter(pk__in=categories).count() != len(categories):
        raise invalid("category_id", "Unknown category.")
    if brands and Brand.objects.filter(pk__in=brands).count() != len(brands):
        raise invalid("brand_id", "Unknown brand.")


def _primary_flags(images: list[ProductImage]) -> None:
    """Mark, per product, the first of ``images`` (unsaved, none primary) by position then list
    order as primary: what :func:`commerce.catalog.media.ensure_primary` picks for new rows."""
    first: dict[Any, ProductImage] = {}
    for image in images:
        best = first.get(image.product_id)
        if best is None or image.position < best.position:
            first[image.product_id] = image
    for image in first.values():
        image.is_primary = True


def products_bulk_create(*, user, vendor_id: Any, rows: list[dict[str, Any]]) -> list[Product]:
    """Create many products of store ``vendor_id`` at once, each as :func:`product_create` would
    (same rows: slug, images with the first one primary, the initial price and stock history
    rows), in a fixed number of queries whatever the number of rows. ``rows``: ``{"sku", ...}``
    plus fields of :data:`BULK_FIELDS` (``name``, ``price`` and ``category_id`` required), as
    :func:`product_values_check` accepts them. No event: a new product has no cart line and
    nobody follows its ``product:`` topic yet (product_create publishes none either).

    All or nothing. Raises what :func:`product_create` raises for a bad value or the wrong
    actor, and ``Conflict`` ``sku_taken`` when a SKU is live already or given twice (a racing
    writer's insert surfaces as ``IntegrityError``; the caller's transaction rolls back)."""
    vendor_id = _resolve_vendor_for_create(user=user, vendor_id=vendor_id)
    checked = []
    for row in rows:
        values = product_values_check({k: v for k, v in row.items() if k != "sku"})
        missing = {"name", "price", "category_id"} - set(values)
        if missing:
            raise invalid(sorted(missing)[0], "This field is required.")
        sku = row.get("sku")
        if not isinstance(sku, str) or not 1 <= len(sku.strip()) <= 64:
            raise invalid("sku", "SKU must be 1-64 characters.")
        checked.append((sku.strip(), values))
    if not checked:
        return []
    skus = [sku for sku, _ in checked]
    if len(set(skus)) != len(skus) or Product.objects.alive().filter(vendor_id=vendor_id, sku__in=skus).exists():
        raise Conflict("A SKU is already used by another of your products.", code="sku_taken",
                       fields={"sku": ["Already used."]})
    _check_references([values for _, values in checked])
    with transaction.atomic():
        scope = Product.objects.filter(vendor_id=vendor_id, deleted_at__isnull=True)
        taken = set(scope.values_list("slug", flat=True))
        products, images = [], []
        for sku, values in checked:
            slug = slug_among(slug_base(values["name"], max_length=220), taken)
            taken.add(slug)
            product = Product(
                vendor_id=vendor_id, category_id=values["category_id"], brand_id=values.get("brand_id"),
                name=values["name"], slug=slug, sku=sku, description=values.get("description", ""),
                price=values["price"], currency=values.get("currency", "EUR"), stock=values.get("stock", 0),
                attributes=values.get("attributes") or {}, is_active=values.get("is_active", True),
                tax_class=values.get("tax_class", TaxClass.STANDARD),
                **{f: values.get(f) for f in PHYSICAL_FIELDS},
            )
            products.append(product)
            images += [ProductImage(product=product, **image) for image in values.get("images", [])]
        Product.objects.bulk_create(products)
        _primary_flags(images)
        ProductImage.objects.bulk_create(images)
        ProductPriceChange.objects.bulk_create([
            ProductPriceChange(product=p, old_price=p.price, new_price=p.price, currency=p.currency, changed_by=user)
            for p in products])
        ProductStockChange.objects.bulk_create([
            ProductStockChange(product=p, old_stock=0, new_stock=p.stock, reason="created", changed_by=user)
            for p in products])
    return products


def products_bulk_update(*, user, vendor_id: Any, changes: dict[Any, dict[str, Any]]) -> list[Product]:
    """Change many products of store ``vendor_id`` at once, each as :func:`product_update` would
    (same rows and events: price and stock history by ``user``, linked images replaced with one
    primary kept, one ``products_changed`` for the products whose cart-visible fields changed,
    their ``product:`` pages published), in a fixed number of queries whatever the number of
    products. ``changes``: ``{product id: {field: value}}`` with fields of :data:`BULK_FIELDS`
    but ``currency`` (the caller compared with the product: an empty dict changes nothing).
    Locks the products in pk order.

    All or nothing. Raises ``Forbidden`` (``not_vendor``, ``role_forbidden``) as
    :func:`commerce.catalog.selectors.product_get_editable`, ``NotFound``
    (``product_not_found``: a product that is not a live one of the store), ``ApplicationError``
    ``invalid``, ``Conflict`` ``too_many_images``."""
    vendor_id = as_uuid(vendor_id, code="vendor_not_found", what="Vendor")
    wanted = {as_uuid(pid, code="product_not_found", what="Product"): product_values_check(values)
              for pid, values in changes.items() if values}
    if any("currency" in values for values in wanted.values()):
        raise invalid("currency", "This field cannot be changed.")
    if vendor_id not in store_ids_of(user, active_only=True, roles=MANAGING_ROLES):
        if is_store_staff(user, vendor_id, active_only=True):
            raise Forbidden("Only the store's owners and managers manage its products.", code="role_forbidden")
        raise Forbidden("Only staff of an active vendor may manage products.", code="not_vendor")
    if not wanted:
        return []
    _check_references(wanted.values())
    with transaction.atomic():
        products = list(Product.objects.select_for_update()
                        .filter(pk__in=wanted, vendor_id=vendor_id, deleted_at__isnull=True).order_by("pk"))
        if len(products) != len(wanted):
            raise NotFound("Product not found.", code="product_not_found")
        now = timezone.now()
        fields, cart_visible, prices, stocks = {"updated_at"}, [], [], []
        for product in products:
            values = wanted[product.pk]
            old_price, old_stock = product.price, product.stock
            before = {f: getattr(product, f) for f in CART_VISIBLE if f != "images"}
            for field, value in values.items():
                if field != "images":
                    setattr(product, field, value)
                    fields.add(field)
            product.updated_at = now
            if "images" in values or any(getattr(product, f) != old for f, old in before.items()):
                cart_visible.append(product.pk)
            for row in _history_rows(product, old_price=old_price, old_stock=old_stock, user=user):
                (prices if isinstance(row, ProductPriceChange) else stocks).append(row)
        Product.objects.bulk_update(products, sorted(fields))
        _replace_images_bulk({pk: values["images"] for pk, values in wanted.items() if "images" in values})
        ProductPriceChange.objects.bulk_create(prices)
        ProductStockChange.objects.bulk_create(stocks)
        if cart_visible:
            products_changed.send(sender=Product, product_ids=cart_visible)
        publish_pages(product_ids=[p.pk for p in products])
    return products


def _replace_images_bulk(images_of: dict[uuid.UUID, list[dict[str, Any]]]) -> None:
    """:func:`_replace_images` for many locked products (``{product id: checked images}``): the
    linked images become these, uploads stay, each product keeps one primary image. Raises
    ``Conflict`` ``too_many_images``."""
    if not images_of:
        return
    most = int(settings.PRODUCT_IMAGES_MAX)
    uploads: dict[uuid.UUID, int] = {}
    for pid in ProductImage.objects.filter(product_id__in=images_of).exclude(file="").values_list("product_id", flat=True):
        uploads[pid] = uploads.get(pid, 0) + 1
    for pid, rows in images_of.items():
        if uploads.get(pid, 0) + len(rows) > most:
            raise Conflict(f"A product has at most {most} images ({uploads.get(pid, 0)} uploaded).",
                           code="too_many_images")
    ProductImage.objects.filter(product_id__in=images_of, file="").delete()
    ProductImage.objects.bulk_create([ProductImage(product_id=pid, **row) for pid, rows in images_of.items()
                                      for row in rows])
    kept = ProductImage.objects.filter(product_id__in=images_of).order_by("product_id", "position", "id")
    first, has_primary = {}, set()
    for image in kept.only("id", "product_id", "is_primary"):
        first.setdefault(image.product_id, image.pk)
        if image.is_primary:
            has_primary.add(image.product_id)
    missing = [image_id for pid, image_id in first.items() if pid not in has_primary]
    if missing:
        ProductImage.objects.filter(pk__in=missing).update(is_primary=True)


# --- the rating aggregate (kept by the reviews room) -------------------------------------------


def _check_stars(values: Any, *, field: str) -> list[int]:
    stars = list(values or [])
    if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5 for v in stars):
        raise invalid(field, "Stars are integers from 1 to 5.")
    return stars


def product_rating_apply(*, product_id: Any, add: Any = (), remove: Any = ()) -> Product:
    """Change the rating aggregate of a product by reviews that became visible (``add``: their
    stars, 1-5) and reviews that stopped counting (``remove``: hidden, deleted, refunded away; an
    edit is one of each). The reviews room calls it in the transaction of the review change, so
    the aggregate is exact under concurrency (the product row is locked ``FOR UPDATE``; lock
    order: the review's rows, then the product). Publishes ``product.rating_changed``.

    Raises ``NotFound`` (``product_not_found``), ``ApplicationError`` ``invalid`` (stars outside
    1-5) and ``Conflict`` ``rating_underflow`` (removing a star count the product does not have:
    the caller's bookkeeping is wrong; nothing changes)."""
    add, remove = _check_stars(add, field="add"), _check_stars(remove, field="remove")
    pid = as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=pid).first()
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
        distribution = list(product.rating_distribution)
        for star in add:
            distribution[star - 1] += 1
        for star in remove:
            distribution[star - 1] -= 1
        if min(distribution) < 0:
            raise Conflict("The product has no such review to remove from its rating.", code="rating_underflow")
        return _set_rating(product, distribution)


def product_rating_set(*, product_id: Any, distribution: Any) -> Product:
    """Set a product's rating aggregate to ``distribution`` (reviews with 1..5 stars, five counts
    >= 0), e.g. rebuilt by the reviews room from one query. Locks the product; publishes
    ``product.rating_changed`` when it changed. Raises ``NotFound``, ``ApplicationError``
    ``invalid``."""
    if (not isinstance(distribution, (list, tuple)) or len(distribution) != 5
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in distribution)):
        raise invalid("distribution", "Five counts >= 0: reviews with 1, 2, 3, 4 and 5 stars.")
    pid = as_uuid(product_id, code="product_not_found", what="Product")
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=pid).first()
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
        if list(product.rating_distribution) == list(distribution):
            return product
        return _set_rating(product, list(distribution))


def _set_rating(product: Product, distribution: list[int]) -> Product:
    """Write the aggregate of the locked ``product`` and publish it (only while it is on sale:
    a hidden product's topic stays silent)."""
    product.rating_distribution = distribution
    product.rating_count = sum(distribution)
    product.rating_sum = sum(n * star for star, n in enumerate(distribution, start=1))
    Product.objects.filter(pk=product.pk).update(
        rating_distribution=distribution, rating_count=product.rating_count, rating_sum=product.rating_sum,
    )
    if Product.objects.public().filter(pk=product.pk).exists():
        outbox.publish(topic=PRODUCT_TOPIC.name(product.pk), event=ProductRatingChanged.build(
            product_id=product.pk, count=product.rating_count, total=product.rating_sum, distribution=distribution,
        ))
    return product
