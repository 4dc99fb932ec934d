"""Reads of reviews: the review and rating payloads (REST bodies, event data, the product page's
latest reviews; rendered by ``commerce.reviews.serializers``, ratings in the catalogue's one
shape), what a viewer may do with a review,
the lists each side sees, and the ratings recounted from the reviews themselves."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.exceptions import NotFound
from core.utils import parse_uuid

from commerce.catalog.events import rating_data
from commerce.catalog.models import Product
from commerce.catalog.serializers import LATEST_REVIEWS
from commerce.reviews.models import (
    COUNTED,
    STARS,
    Review,
    ReviewPhoto,
    ReviewReport,
    ReviewStatus,
    StoreRating,
)
from commerce.reviews.permissions import (
    can_moderate_reviews,
    can_reply_to_review,
    can_report_review,
    can_view_review,
    is_review_author,
    visible_reviews_q,
)
from commerce.reviews.serializers import (
    ReviewDetailOutputSerializer,
    ReviewOutputSerializer,
)
from commerce.stores.permissions import is_store_staff

#: days the author may edit a review (the issue's rule), ``REVIEW_EDIT_DAYS``
EDIT_DAYS = 30


def edit_deadline(review: Review) -> datetime:
    """Until when the author may edit: ``created_at + REVIEW_EDIT_DAYS`` (30 days)."""
    return review.created_at + timedelta(days=float(getattr(settings, "REVIEW_EDIT_DAYS", EDIT_DAYS)))


def review_queryset() -> QuerySet[Review]:
    """Reviews with what :func:`review_data` reads joined or prefetched (a page costs a fixed
    number of queries)."""
    return (Review.objects.select_related("order_line", "vendor", "author")
            .prefetch_related(Prefetch("photos", queryset=ReviewPhoto.objects.order_by("created_at", "id"))))


def sees_moderation(user, review: Review) -> bool:
    """The author, the store's staff and marketplace staff see why a review was hidden or
    restored."""
    return is_review_author(user, review) or can_moderate_reviews(user) or is_store_staff(user, review.vendor_id)


def review_data(review: Review, *, moderation: bool = True) -> dict[str, Any]:
    """The review payload::

        {"id", "product_id", "product_name", "order_line_id", "vendor": {"id", "name"},
         "author_name", "rating", "title", "text",
         "photos": [{"id", "url", "content_type", "size", "width", "height"}],
         "verified_purchase": true, "status": "visible" | "hidden", "counts",
         "moderation_reason": str | null, "reply": {"text", "replied_at", "edited_at"} | null,
         "created_at", "edited_at"}

    ``moderation``: include ``moderation_reason`` (the events go to the author and the store;
    public lists leave it null)."""
    return ReviewOutputSerializer(review, context={"moderation": moderation}).data


def review_allowed_actions(user, review: Review, *, now: datetime | None = None) -> list[str]:
    """What ``user`` may do with ``review`` now, sorted: the author ``edit`` (visible, before
    :func:`edit_deadline`); the store's staff ``reply`` (no reply yet) or ``edit_reply``; anyone
    else signed in ``report`` (visible, not reported by them yet); marketplace staff ``hide`` or
    ``restore``."""
    now = now or timezone.now()
    actions = []
    if is_review_author(user, review):
        if review.status == ReviewStatus.VISIBLE and now < edit_deadline(review):
            actions.append("edit")
    else:
        if can_reply_to_review(user, review):
            actions.append("edit_reply" if review.replied_at else "reply")
        if (review.status == ReviewStatus.VISIBLE and can_report_review(user, review)
                and not ReviewReport.objects.filter(review=review, reporter=user).exists()):
            actions.append("report")
    if can_moderate_reviews(user):
        actions.append("hide" if review.status == ReviewStatus.VISIBLE else "restore")
    return sorted(actions)


def review_detail_data(review: Review, *, viewer) -> dict[str, Any]:
    """:func:`review_data` for ``viewer`` plus ``editable_until`` and ``allowed_actions``."""
    review.editable_until = edit_deadline(review)
    return ReviewDetailOutputSerializer(review, context={
        "moderation": sees_moderation(viewer, review),
        "allowed_actions": review_allowed_actions(viewer, review)}).data


def review_get_visible(*, user, review_id: Any) -> Review:
    """The review if ``user`` may read it (``can_view_review``). Raises ``NotFound``
    ``review_not_found`` otherwise (also for a malformed id)."""
    rid = parse_uuid(review_id)
    review = review_queryset().filter(pk=rid).first() if rid else None
    if review is None or not can_view_review(user, review):
        raise NotFound("Review not found.", code="review_not_found")
    return review


def product_reviews(*, product_id: Any, rating: int | None = None) -> QuerySet[Review]:
    """The counted reviews of a product, newest first (public); ``rating`` narrows to a number
    of stars."""
    qs = review_queryset().filter(COUNTED, product_id=product_id)
    return qs.filter(rating=rating) if rating else qs


def store_reviews(*, vendor_id: Any, rating: int | None = None) -> QuerySet[Review]:
    """The counted reviews of a store's products, newest first (public)."""
    qs = review_queryset().filter(COUNTED, vendor_id=vendor_id)
    return qs.filter(rating=rating) if rating else qs


def reviews_of_author(*, user) -> QuerySet[Review]:
    """``user``'s own reviews in every state, newest first."""
    return review_queryset().filter(author=user) if getattr(user, "pk", None) else Review.objects.none()


def reported_reviews(*, user) -> QuerySet[Review]:
    """The staff queue: reviews with open reports, most reported first, then oldest report
    first (``visible_reviews_q`` leaves marketplace staff everything; callers check
    ``can_moderate_reviews``)."""
    return (review_queryset().filter(visible_reviews_q(user), open_reports__gt=0)
            .prefetch_related(Prefetch("reports", queryset=ReviewReport.objects.order_by("id")))
            .order_by("-open_reports", "updated_at", "id"))


def reviewable_lines(*, order) -> list[dict[str, Any]]:
    """The lines of ``order`` with their review if any: ``[{"order_line_id", "product_id",
    "product_name", "review_id"}]``."""
    reviewed = dict(Review.objects.filter(order=order).values_list("order_line_id", "id"))
    return [{"order_line_id": line.pk, "product_id": line.product_id, "product_name": line.product_name,
             "review_id": reviewed.get(line.pk)} for line in order.lines.order_by("id")]


# --- ratings ---------------------------------------------------------------------------------


def store_rating(vendor_id: Any) -> StoreRating:
    """The store's aggregate (an unsaved empty one before its first counted review). One query."""
    return StoreRating.objects.filter(pk=vendor_id).first() or StoreRating(vendor_id=vendor_id)


def store_rating_data(rating: StoreRating) -> dict[str, Any]:
    """A store's rating in the one rating shape, the catalogue's (``commerce.catalog.events.
    rating_data``): ``{"average": "4.33" | None, "count", "distribution": [n1, …, n5]}``."""
    return rating_data(count=rating.count, total=rating.total, distribution=rating.distribution)


def product_rating_data(product_id: Any) -> dict[str, Any] | None:
    """A product's rating (the catalogue's columns) in the one rating shape; None for a product
    that no longer exists. One query."""
    row = Product.objects.filter(pk=product_id).values_list("rating_count", "rating_sum", "rating_distribution").first()
    return rating_data(count=row[0], total=row[1], distribution=row[2]) if row else None


def average_of(total: int, count: int) -> Decimal:
    """``total / count`` rounded half-up to 2 places; 0 for no reviews."""
    if not count:
        return Decimal("0.00")
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rating_recount(*, product_id: Any = None, vendor_id: Any = None) -> dict[str, Any]:
    """The aggregate of a product (or a store) computed from its counted reviews in **one
    query** (the check of the incremental aggregates, and their rebuild:
    ``manage.py reviews_recount``): ``{"count", "total", "stars_1"…"stars_5", "average"}``
    (a product's columns are ``rating_count`` = count, ``rating_sum`` = total,
    ``rating_distribution`` = ``[stars_1, …, stars_5]``)."""
    where = Q(product_id=product_id) if product_id is not None else Q(vendor_id=vendor_id)
    row = Review.objects.filter(COUNTED, where).aggregate(
        count=Count("id"), total=Sum("rating", default=0),
        **{f"stars_{s}": Count("id", filter=Q(rating=s)) for s in STARS})
    row["average"] = average_of(row["total"], row["count"])
    return row


def product_latest_reviews(product_id: Any, *, limit: int = LATEST_REVIEWS) -> list[dict[str, Any]]:
    """The newest counted reviews of a product as public payloads (the product page's
    ``latest_reviews``). Two queries."""
    return [review_data(r, moderation=False) for r in product_reviews(product_id=product_id)[:limit]]


def products_latest_reviews(*, product_ids: Any, limit: int = LATEST_REVIEWS) -> dict[Any, list[dict[str, Any]]]:
    """``{product id: [up to limit public review payloads, newest first]}`` for several
    products (the catalogue's ``product_reviews_summary`` hook): two queries whatever the number
    of products (the counted reviews ranked per product by a window function, their photos).
    Products without counted reviews are left out."""
    ids = list(product_ids)
    if not ids:
        return {}
    ranked = (review_queryset().filter(COUNTED, product_id__in=ids)
              .annotate(place=Window(RowNumber(), partition_by=[F("product_id")], order_by=[F("created_at").desc(), F("id")]))
              .filter(place__lte=limit).order_by("product_id", "place"))
    latest: dict[Any, list[dict[str, Any]]] = {}
    for review in ranked:
        latest.setdefault(review.product_id, []).append(review_data(review, moderation=False))
    return latest


def review_photo_get_visible(*, user, photo_id: Any) -> ReviewPhoto:
    """A review photo for ``user``: the uploader while it is unattached, then whoever may read
    its review (``can_view_review``). Raises ``NotFound`` ``photo_not_found`` otherwise."""
    pk = parse_uuid(photo_id)
    photo = ReviewPhoto.objects.select_related("review").filter(pk=pk).first() if pk else None
    allowed = photo is not None and (can_view_review(user, photo.review) if photo.review_id
                                     else photo.uploaded_by_id == getattr(user, "pk", None))
    if not allowed:
        raise NotFound("Photo not found.", code="photo_not_found")
    return photo
