"""The review event types (``realtime.events``), to the author's ``user:`` topic and the store's
``vendor:`` desk. Each carries the review (``commerce.reviews.selectors.review_data``, with its
``moderation_reason``: both the author and the store may read it) and the product's and the
store's rating aggregates after the change."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Event, EventSchema, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.common.photos import PhotoData
from commerce.orders.events import VENDOR_TOPIC, OrderVendor
from commerce.reviews.models import ProductRating, Review, ReviewStatus, StoreRating
from commerce.reviews.selectors import rating_data, review_data

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


class RatingDistribution(Payload):
    """How many counted reviews gave each number of stars (keys "1" to "5")."""

    one: Count = Field(alias="1")
    two: Count = Field(alias="2")
    three: Count = Field(alias="3")
    four: Count = Field(alias="4")
    five: Count = Field(alias="5")


class RatingData(Payload):
    average: str = Field(pattern=r"^[0-5]\.[0-9]{2}$", description="0.00 without reviews")
    count: Count
    distribution: RatingDistribution


class ReviewEvent(EventSchema):
    """Shared shape: ``{"review", "product_rating", "store_rating"}``."""

    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    review: ReviewData
    product_rating: RatingData | None = Field(description="null when the product was deleted")
    store_rating: RatingData

    @classmethod
    def payload(cls, review: Review) -> dict:
        product = (rating_data(ProductRating.objects.filter(pk=review.product_id).first()
                               or ProductRating(product_id=review.product_id)) if review.product_id else None)
        store = rating_data(StoreRating.objects.filter(pk=review.vendor_id).first() or StoreRating(vendor_id=review.vendor_id))
        return {"review": review_data(review), "product_rating": product, "store_rating": store}

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
