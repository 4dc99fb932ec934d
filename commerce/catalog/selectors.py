"""Reads of the catalogue: the category tree, brands, and which products a user may see or edit."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from core.exceptions import Forbidden, NotFound
from core.permissions import is_active_user
from core.utils import parse_uuid

from commerce.catalog.models import DEFAULT_LOW_STOCK_THRESHOLD, Brand, CatalogSettings, Category, Product, ProductImage
from commerce.stores.models import VendorStatus
from commerce.stores.permissions import MANAGING_ROLES, store_ids_of


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


def low_stock_threshold(vendor) -> int:
    """The store's low-stock threshold (``CatalogSettings``, else ``DEFAULT_LOW_STOCK_THRESHOLD``);
    no query when the vendor was loaded with ``select_related("vendor__catalog_settings")``."""
    try:
        return vendor.catalog_settings.low_stock_threshold
    except CatalogSettings.DoesNotExist:
        return DEFAULT_LOW_STOCK_THRESHOLD


def is_low_stock(product: Product) -> bool:
    """True when ``0 < stock <=`` the store's threshold: the page shows "low stock"."""
    return 0 < product.stock <= low_stock_threshold(product.vendor)


def product_base() -> QuerySet[Product]:
    """Products with what their page renders joined (vendor and its catalogue settings,
    category, brand; images prefetched in order)."""
    return Product.objects.select_related("vendor", "vendor__catalog_settings", "category", "brand").prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
    )


def primary_image_url(images: list[ProductImage], *, size: str = "small") -> str | None:
    """The URL a list or cart line shows for a product whose ``images`` (prefetched, in order)
    are given: the primary image's ``size`` thumbnail (``small`` or ``large``) for an upload, its
    URL for a linked image, the first image when none is marked primary; None without images. No
    query."""
    if not images:
        return None
    image = next((img for img in images if img.is_primary), images[0])
    if image.file:
        thumb = image.thumbnail_small if size == "small" else image.thumbnail_large
        return (thumb or image.file).url
    return image.url


def product_list_public() -> QuerySet[Product]:
    """Products anyone may see: alive, active, of an active vendor."""
    return product_base().public()


def product_list_for_user(*, user, mine: bool = False) -> QuerySet[Product]:
    """With ``mine`` and a vendor-staff ``user``: every alive product of their vendors (active or
    not, any vendor status). Otherwise the public list."""
    if mine and is_active_user(user):
        return product_base().alive().filter(vendor_id__in=store_ids_of(user))
    return product_list_public()


def product_get(*, user, product_id: uuid.UUID) -> Product:
    """A product ``user`` may see: public, or alive and of a vendor ``user`` is staff of.
    Raises ``NotFound`` (``product_not_found``)."""
    qs = product_base().alive().filter(pk=product_id)
    staff_of = store_ids_of(user)
    qs = qs.filter(
        Q(is_active=True, vendor__status=VendorStatus.ACTIVE) | Q(vendor_id__in=staff_of)
    )
    product = qs.first()
    if product is None:
        raise NotFound("Product not found.", code="product_not_found")
    return product


def can_view_product_page(*, user, product_id: Any) -> bool:
    """May ``user`` subscribe to ``product:<product_id>``? A signed-in, active user who may see
    the product (:func:`product_get`: on sale, or alive and of a store they work for). Malformed
    and unknown ids are False. One or two queries."""
    pk = parse_uuid(product_id)
    if pk is None or not is_active_user(user):
        return False
    try:
        product_get(user=user, product_id=pk)
    except NotFound:
        return False
    return True


def product_get_editable(*, user, product_id: uuid.UUID) -> Product:
    """A product ``user`` may change: alive and of an *active* vendor whose products they manage
    (its owners and managers: ``commerce.stores.permissions.can_manage_products``).

    Raises ``Forbidden`` (``not_vendor``) when ``user`` is staff of no active vendor,
    (``role_forbidden``) when they work for the product's store with the ``staff`` role,
    ``NotFound`` (``product_not_found``) when the product is unknown, deleted or another vendor's.
    """
    staff_of = store_ids_of(user, active_only=True)
    if not staff_of:
        raise Forbidden("Only staff of an active vendor may manage products.", code="not_vendor")
    product = product_base().alive().filter(pk=product_id, vendor_id__in=staff_of).first()
    if product is None:
        raise NotFound("Product not found.", code="product_not_found")
    if product.vendor_id not in store_ids_of(user, active_only=True, roles=MANAGING_ROLES):
        raise Forbidden("Only the store's owners and managers manage its products.", code="role_forbidden")
    return product
