"""The review event types (``realtime.events``).

``review.created`` / ``review.updated`` go to the author's ``user:`` topic and the store's
``vendor:`` desk. Each carries the review (``commerce.reviews.selectors.review_data``, with its
``moderation_reason``: both the author and the store may read it) and the product's and the
store's ratings after the change (the catalogue's one rating shape).

``product.reviews_changed`` goes to the live product page (``product:<id>``, declared by the
catalogue): the page's ``latest_reviews`` after a review appeared, changed or stopped counting.
The rating itself arrives as the catalogue's ``product.rating_changed``."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Event, EventSchema, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.catalog.events import PRODUCT_TOPIC, Rating
from commerce.common.photos import PhotoData
from commerce.orders.events import VENDOR_TOPIC, OrderVendor
from commerce.reviews.models import Review, ReviewStatus
from commerce.reviews.selectors import product_rating_data, review_data, store_rating, store_rating_data

#: what a ``review.updated`` says changed
REVIEW_CHANGES = ("edited", "replied", "reply_edited", "hidden", "restored", "line_refunded")


class ReviewReply(Payload):
    text: str
    replied_at: Timestamp
    edited_at: Timestamp | None


class ReviewData(Payload):
    """A review (``GET /api/v1/reviews/{id}/`` without the viewer's fields)."""

    id: UUID
    product_id: UUID | None = Field(description="null once the product was deleted")
    product_name: str
    order_line_id: int
    vendor: OrderVendor
    author_name: str
    rating: int = Field(ge=1, le=5)
    title: str
    text: str
    photos: list[PhotoData] = Field(max_length=5)
    verified_purchase: bool
    status: one_of(ReviewStatus.values)
    counts: bool = Field(description="counted in the ratings and shown in public lists")
    moderation_reason: str | None
    reply: ReviewReply | None
    created_at: Timestamp
    edited_at: Timestamp | None


class ReviewEvent(EventSchema):
    """Shared shape: ``{"review", "product_rating", "store_rating"}``."""

    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    review: ReviewData
    product_rating: Rating | None = Field(description="the product page's rating; null when the product was deleted")
    store_rating: Rating

    @classmethod
    def payload(cls, review: Review) -> dict:
        product = product_rating_data(review.product_id) if review.product_id else None
        return {"review": review_data(review), "product_rating": product,
                "store_rating": store_rating_data(store_rating(review.vendor_id))}

    @classmethod
    def build(cls, *, review: Review) -> Event:
        return cls.event(cls.payload(review))


class ReviewCreated(ReviewEvent):
    """A buyer reviewed a product of the store (to the author and the store's desk)."""

    type: ClassVar[str] = "review.created"


class ReviewUpdated(ReviewEvent):
    """A review changed: ``edited`` by its author, ``replied`` / ``reply_edited`` by the store,
    ``hidden`` / ``restored`` by marketplace staff (``moderation_reason``), ``line_refunded``
    (its order line was refunded in full: it no longer counts)."""

    type: ClassVar[str] = "review.updated"

    change: one_of(REVIEW_CHANGES)

    @classmethod
    def build(cls, *, review: Review, change: str) -> Event:  # type: ignore[override]
        return cls.event({**cls.payload(review), "change": change})


class ProductReviewsChanged(EventSchema):
    """The product page's ``latest_reviews`` after a counted review appeared, changed (edit,
    the store's reply) or stopped counting (hidden, its line refunded): the client replaces the
    page's ``latest_reviews``. Published only while the product is on sale (like the
    catalogue's own events); its rating comes as ``product.rating_changed``."""

    type: ClassVar[str] = "product.reviews_changed"
    topics: ClassVar[Topics] = (PRODUCT_TOPIC,)

    product_id: UUID
    latest_reviews: list[ReviewData] = Field(max_length=5, description="the newest counted reviews, newest first")

    @classmethod
    def build(cls, *, product_id, latest_reviews: list[dict]) -> Event:  # type: ignore[override]
        return cls.event({"product_id": product_id, "latest_reviews": latest_reviews})
