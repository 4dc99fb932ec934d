"""The product page: one body for ``GET /api/v1/products/{id}/``, the ``product:<id>`` snapshot
and ``product.updated`` (rendered by ``ProductOutputSerializer``), and the events that keep it
live (published by the catalogue's services, under the products' locks, through the outbox)."""

from __future__ import annotations

from typing import Any, Iterable

from rest_framework import serializers

from realtime import outbox
from realtime.events import Event

from commerce.catalog.events import PRODUCT_TOPIC, ProductUnavailable, ProductUpdated
from commerce.catalog.models import Product
from commerce.catalog.selectors import product_base, product_get
from commerce.catalog.serializers import ProductOutputSerializer
from commerce.stores.models import VendorStatus
from core.exceptions import NotFound
from core.utils import parse_uuid


def product_page_data(product: Product) -> dict[str, Any]:
    """The page of a loaded ``product`` (through the catalogue selectors' joins)."""
    return dict(ProductOutputSerializer(product).data)


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
    transaction of the change, with the products locked, and publish the result. Two queries
    (products with their joins, images)."""
    ids = sorted({parse_uuid(pid) for pid in product_ids} - {None})
    events = []
    for product in product_base().filter(pk__in=ids).order_by("pk"):
        topic = PRODUCT_TOPIC.name(product.pk)
        reason = unavailable_reason(product)
        if reason is None:
            events.append((topic, ProductUpdated.build(product_page_data(product))))
        else:
            events.append((topic, ProductUnavailable.build(
                product_id=product.pk, reason=reason, updated_at=serializers.DateTimeField().to_representation(product.updated_at),
            )))
    return events


def publish_pages(*, product_ids: Iterable[Any]) -> None:
    """Publish :func:`page_events` through the outbox (sent after commit)."""
    outbox.publish_many(page_events(product_ids))
