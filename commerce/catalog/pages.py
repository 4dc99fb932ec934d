"""The product page: one body for ``GET /api/v1/products/{id}/``, the ``product:<id>`` snapshot
and ``product.updated`` (rendered by ``ProductPageOutputSerializer``: the product, its rating from
the catalogue's columns, and the latest reviews the reviews room gives through
``commerce.catalog.hooks.product_reviews_summary``), and the events that keep it live (published
by the catalogue's services, under the products' locks, through the outbox)."""

from __future__ import annotations

from typing import Any, Iterable

from rest_framework import serializers

from realtime import outbox
from realtime.events import Event

from commerce.catalog.events import PRODUCT_TOPIC, ProductUnavailable, ProductUpdated
from commerce.catalog.hooks import product_reviews_summary
from commerce.catalog.models import Product
from commerce.catalog.selectors import product_base, product_get
from commerce.catalog.serializers import ProductPageOutputSerializer
from commerce.stores.models import VendorStatus
from core.exceptions import NotFound
from core.utils import parse_uuid


def latest_reviews_of(product_ids: Iterable[Any]) -> dict[Any, list[dict[str, Any]]]:
    """``{product id: [review, …]}``: the latest reviews of each product from the reviews room
    (``product_reviews_summary``, a fixed number of queries), ``{}`` when nothing provides them."""
    ids = list(product_ids)
    if not ids or not product_reviews_summary.provided:
        return {}
    return product_reviews_summary(product_ids=ids)


def product_page_data(product: Product, *, latest_reviews: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The page of a loaded ``product`` (through the catalogue selectors' joins);
    ``latest_reviews`` as :func:`latest_reviews_of` gives them (asked for when None)."""
    if latest_reviews is None:
        latest_reviews = latest_reviews_of([product.pk]).get(product.pk, [])
    return dict(ProductPageOutputSerializer(product, context={"latest_reviews": latest_reviews}).data)


def product_page(*, user, product_id: Any) -> dict[str, Any]:
    """The product page for ``user``. Raises ``NotFound`` (``product_not_found``) for a product
    ``user`` may not see (``selectors.product_get``) or a malformed id."""
    pk = parse_uuid(product_id)
    if pk is None:
        raise NotFound("Product not found.", code="product_not_found")
    return product_page_data(product_get(user=user, product_id=pk))


def unavailable_reason(product: Product) -> str | None:
    """Why ``product`` is not on sale (``deleted``, ``deactivated``, ``store_unavailable``), or
    None when it is."""
    if product.deleted_at is not None:
        return "deleted"
    if not product.is_active:
        return "deactivated"
    if product.vendor.status != VendorStatus.ACTIVE:
        return "store_unavailable"
    return None


def page_events(product_ids: Iterable[Any]) -> list[tuple[str, Event]]:
    """The ``product:`` events for products whose page changed: ``product.updated`` (the whole
    page) for those on sale, ``product.unavailable`` for the others. Call it inside the
    transaction of the change, with the products locked, and publish the result. A fixed number
    of queries whatever the number of products (products with their joins, images, the latest
    reviews of those on sale)."""
    ids = sorted({parse_uuid(pid) for pid in product_ids} - {None})
    products = list(product_base().filter(pk__in=ids).order_by("pk"))
    latest = latest_reviews_of([p.pk for p in products if unavailable_reason(p) is None])
    events = []
    for product in products:
        topic = PRODUCT_TOPIC.name(product.pk)
        reason = unavailable_reason(product)
        if reason is None:
            page = product_page_data(product, latest_reviews=latest.get(product.pk, []))
            events.append((topic, ProductUpdated.build(page)))
        else:
            events.append((topic, ProductUnavailable.build(
                product_id=product.pk, reason=reason, updated_at=serializers.DateTimeField().to_representation(product.updated_at),
            )))
    return events


def publish_pages(*, product_ids: Iterable[Any]) -> None:
    """Publish :func:`page_events` through the outbox (sent after commit)."""
    outbox.publish_many(page_events(product_ids))
