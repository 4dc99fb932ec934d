"""The ``product:<product_id>`` topic kind and the catalogue's event types (``realtime.events``).

A subscriber keeps the product page (the snapshot, the same body as ``GET
/api/v1/products/{id}/``, ``commerce.catalog.selectors.product_page``) live:

* ``product.updated`` carries the whole page again after anything it shows changed (price,
  stock and ``low_stock``, name, description, images, attributes, becoming available again):
  the client replaces its copy. It is published only while the product is on sale, so nobody
  learns about a hidden product through it;
* ``product.rating_changed`` carries the rating aggregate after a review was published,
  edited, hidden, restored or refunded away (the reviews room calls
  ``commerce.catalog.services.product_rating_apply`` in the transaction of the review change,
  and ``product_rating_set`` when it recounts);
* ``product.unavailable`` says the product left the shop (deactivated, deleted, or its store is
  no longer active): the client marks the page unavailable. Nothing else is published on the
  topic until it is on sale again (then ``product.updated``).

Other rooms may declare event types on ``PRODUCT_TOPIC`` too, each in its own ``events.py``:
the reviews room's ``product.reviews_changed`` carries the page's ``latest_reviews`` after a
review appeared, changed or stopped counting (``commerce.reviews.events``).

The catalogue also publishes a catalogue import's progress (``catalog_import.progress``) on the
store's ``vendor:`` desk (``commerce.stores.events.VENDOR_TOPIC``), so the console shows a live
progress bar.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from realtime.events import (
    Count,
    Currency,
    Event,
    EventSchema,
    Money,
    Payload,
    Timestamp,
    TopicKind,
    Topics,
    one_of,
)

from commerce.catalog.models import CatalogImport, CatalogImportStatus
from commerce.stores.events import VENDOR_TOPIC
from commerce.tax.models import TaxClass

#: ``product:<product_id>``: the live product page (any signed-in user who may see the product)
PRODUCT_TOPIC = TopicKind("product", key="the product id", description="the live product page")


def rating_data(*, count: int, total: int, distribution: list[int]) -> dict[str, Any]:
    """The rating shape: ``{"average": "4.33" | None, "count", "distribution": [n1..n5]}``;
    ``average`` is the mean of the stars with two decimals, rounded half up (None without
    reviews)."""
    average = None
    if count:
        average = str((Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return {"average": average, "count": count, "distribution": list(distribution)}


class Rating(Payload):
    average: str | None = Field(pattern=r"^[1-5]\.[0-9]{2}$", description="mean stars, two decimals; null without reviews")
    count: Count = Field(description="visible reviews")
    distribution: list[Count] = Field(min_length=5, max_length=5, description="reviews with 1, 2, 3, 4, 5 stars")


class PageBrand(Payload):
    id: int
    name: str
    slug: str


class PageVendor(Payload):
    id: UUID
    name: str
    slug: str


class PageThumbnails(Payload):
    small: str = Field(description="URL, at most 240 pixels per side (WebP)")
    large: str = Field(description="URL, at most 800 pixels per side (WebP)")


class PageImage(Payload):
    """An image of the product: an upload (re-encoded, with thumbnails) or a link."""

    id: int
    url: str
    source: Literal["upload", "link"]
    thumbnails: PageThumbnails | None = Field(description="null for a linked image")
    alt_text: str
    position: Count
    is_primary: bool = Field(description="exactly one image of a product is primary")
    width: Count | None
    height: Count | None
    content_type: str
    size_bytes: Count | None


class ProductUpdated(EventSchema):
    """The product page after a change of what it shows (price, stock, low stock, texts, images,
    attributes, tax class, weight and dimensions; or on sale again): the same body as ``GET
    /api/v1/products/{id}/`` and the snapshot. Never a stock reservation's details: only the
    units on sale."""

    type: ClassVar[str] = "product.updated"
    topics: ClassVar[Topics] = (PRODUCT_TOPIC,)

    id: UUID
    vendor: PageVendor
    category_id: int
    brand: PageBrand | None
    name: str
    slug: str
    sku: str
    description: str
    price: Money
    currency: Currency
    stock: Count = Field(description="units on sale now")
    in_stock: bool
    low_stock: bool = Field(description="0 < stock <= the store's low-stock threshold")
    available: bool = Field(description="on sale: active, not deleted, its store active")
    attributes: dict[str, Any]
    tax_class: one_of(TaxClass.values) = Field(description="the tax rate class (commerce.tax)")
    weight_g: int | None = Field(ge=1, description="one packed unit, grams; null: unknown")
    length_mm: int | None = Field(ge=1, description="packed length, millimetres; null: unknown")
    width_mm: int | None = Field(ge=1, description="packed width, millimetres; null: unknown")
    height_mm: int | None = Field(ge=1, description="packed height, millimetres; null: unknown")
    is_active: bool
    images: list[PageImage]
    rating: Rating
    created_at: Timestamp
    updated_at: Timestamp
    latest_reviews: list[dict[str, Any]] = Field(
        max_length=5, description="the newest counted reviews (the reviews room's review payloads; "
        "kept live by product.reviews_changed)")

    @classmethod
    def build(cls, page: dict[str, Any]) -> Event:
        """From the product page (``commerce.catalog.selectors.product_page``)."""
        return cls.event(page)


class ProductRatingChanged(EventSchema):
    """The product's rating aggregate after a review change (the page's ``rating``)."""

    type: ClassVar[str] = "product.rating_changed"
    topics: ClassVar[Topics] = (PRODUCT_TOPIC,)

    product_id: UUID
    rating: Rating

    @classmethod
    def build(cls, *, product_id: Any, count: int, total: int, distribution: list[int]) -> Event:
        return cls.event({"product_id": product_id,
                          "rating": rating_data(count=count, total=total, distribution=distribution)})


class ProductUnavailable(EventSchema):
    """The product left the shop: ``deactivated`` by its store, ``deleted``, or its store is no
    longer active (``store_unavailable``). The page's ``available`` becomes false, its
    ``updated_at`` this one (and ``is_active`` false when deactivated)."""

    type: ClassVar[str] = "product.unavailable"
    topics: ClassVar[Topics] = (PRODUCT_TOPIC,)

    product_id: UUID
    reason: Literal["deactivated", "deleted", "store_unavailable"]
    updated_at: Timestamp = Field(description="the page's updated_at")

    @classmethod
    def build(cls, *, product_id: Any, reason: str, updated_at: str) -> Event:
        """``updated_at`` as the page renders it (``ProductOutputSerializer``)."""
        return cls.event({"product_id": product_id, "reason": reason, "updated_at": updated_at})


class CatalogImportProgress(EventSchema):
    """A catalogue import started, advanced (every ``commerce.catalog.imports.PROGRESS_EVERY``
    rows) or ended: ``rows_done`` of ``total_rows``, how each went, errors so far. ``status``
    ``done`` or ``failed`` (the file could not be read, or its job lost its worker twice:
    ``detail`` says which and what to do) is the last event of an import; its error report is ``GET /api/v1/vendors/{vendor_id}/catalog-imports/{id}/errors/``."""

    type: ClassVar[str] = "catalog_import.progress"
    topics: ClassVar[Topics] = (VENDOR_TOPIC,)

    import_id: UUID
    file_name: str
    status: one_of(CatalogImportStatus.values)
    detail: str
    total_rows: Count
    rows_done: Count
    created: Count
    updated: Count
    unchanged: Count
    error_count: Count = Field(description="rows that did not go in (the report lists them)")
    started_at: Timestamp | None
    finished_at: Timestamp | None

    @classmethod
    def build(cls, *, job: CatalogImport) -> Event:
        return cls.event({"import_id": job.pk, "file_name": job.file_name, "status": job.status,
                          "detail": job.detail, "total_rows": job.total_rows, "rows_done": job.rows_done,
                          "created": job.created, "updated": job.updated, "unchanged": job.unchanged,
                          "error_count": job.error_count, "started_at": job.started_at,
                          "finished_at": job.finished_at})
