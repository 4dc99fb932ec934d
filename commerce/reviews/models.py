"""Reviews and ratings: a buyer rates a product they received, once per order line; the store
may answer once in public; anyone signed in may report a review and marketplace staff hide or
restore it (``commerce.reviews.services``, the one owner of :data:`REVIEW_TRANSITIONS`).

* :class:`Review` — one review of one order line: 1–5 stars, a title, a text, up to 5 photos,
  the store's reply, its moderation state.
* :class:`ReviewPhoto` — a photo the author attached (re-encoded, served through the API).
* :class:`ReviewReport` — someone's report of a review (one per person and review).
* :class:`ReviewModeration` — the audit row of every hide and restore.
* :class:`StoreRating` — the store's rating aggregate (count, sum of stars, the distribution 1–5,
  the average), kept in the transaction of every change of a counted review. A product's
  aggregate is the catalogue's (``Product.rating_count``, ``rating_sum``,
  ``rating_distribution``), changed only through ``commerce.catalog.services.
  product_rating_apply`` / ``product_rating_set``, which the reviews room calls in the same
  transaction.

A review **counts** (in the aggregates and the public lists) while it is ``visible`` and its order
line is not refunded in full (``line_refunded``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q

from core.fsm import StateMachine

from commerce.common.photos import PhotoFields

from commerce.catalog.models import Product
from commerce.orders.models import Order, OrderLine
from commerce.stores.models import Vendor

#: stars of a review
MIN_RATING, MAX_RATING = 1, 5
STARS = range(MIN_RATING, MAX_RATING + 1)


class ReviewStatus(models.TextChoices):
    VISIBLE = "visible", "Visible"
    HIDDEN = "hidden", "Hidden by marketplace staff"


#: the moderation map (one owner: ``commerce.reviews.services``); anything else is
#: ``invalid_transition`` (409)
REVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewStatus.VISIBLE: frozenset({ReviewStatus.HIDDEN}),
    ReviewStatus.HIDDEN: frozenset({ReviewStatus.VISIBLE}),
}

#: the review's state machine (``core.fsm``); only ``commerce.reviews.services`` moves it
REVIEW_MACHINE = StateMachine("review", REVIEW_TRANSITIONS)


class ReportReason(models.TextChoices):
    """Why someone reports a review."""

    SPAM = "spam", "Spam or advertising"
    OFFENSIVE = "offensive", "Offensive or abusive"
    OFF_TOPIC = "off_topic", "Not about the product"
    FAKE = "fake", "Fake or paid review"
    PERSONAL_DATA = "personal_data", "Shares personal data"
    OTHER = "other", "Other"


class Review(models.Model):
    """A buyer's review of one order line (``order_line`` is unique: one review per line).

    ``product`` and ``vendor`` are the line's (the product may be deleted later: null).
    ``rating`` 1–5; ``title`` and ``text`` may be empty (stars alone are a review). ``edited_at``
    is the last change by the author (allowed for ``REVIEW_EDIT_DAYS``, 30, after
    ``created_at``). The store's one public reply: ``reply_text`` by ``reply_by`` at
    ``replied_at`` (``reply_edited_at`` when changed). ``status`` moves only along
    :data:`REVIEW_TRANSITIONS`; ``moderation_reason`` is the reason of the last move.
    ``line_refunded``: the order line was refunded in full (the order refunded, or returns
    refunded every unit): the review no longer counts. ``open_reports``: reports staff have not
    handled yet (a hide or restore handles them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_line = models.OneToOneField(OrderLine, on_delete=models.PROTECT, related_name="review")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="reviews")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120, blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.VISIBLE)
    moderation_reason = models.CharField(max_length=500, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    line_refunded = models.BooleanField(default=False)
    open_reports = models.PositiveIntegerField(default=0)
    reply_text = models.TextField(blank=True)
    reply_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    replied_at = models.DateTimeField(null=True, blank=True)
    reply_edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=MIN_RATING) & Q(rating__lte=MAX_RATING),
                                   name="commerce_review_rating_range"),
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="commerce_review_status_valid"),
        ]
        indexes = [
            models.Index(fields=["product", "status", "line_refunded", "-created_at"], name="commerce_review_product"),
            models.Index(fields=["vendor", "status", "line_refunded", "-created_at"], name="commerce_review_vendor"),
            models.Index(fields=["author", "-created_at"], name="commerce_review_author"),
            models.Index(fields=["-open_reports"], condition=Q(open_reports__gt=0), name="commerce_review_reported"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ on line {self.order_line_id} ({self.status})"

    @property
    def counts(self) -> bool:
        """In the aggregates and the public lists: visible, its line not refunded in full."""
        return self.status == ReviewStatus.VISIBLE and not self.line_refunded


#: the queryset form of :attr:`Review.counts`
COUNTED = Q(status=ReviewStatus.VISIBLE, line_refunded=False)


class ReviewMediaStorage(FileSystemStorage):
    """Storage of review photos: ``settings.REVIEWS_MEDIA_ROOT``, served through
    ``/api/v1/reviews/photos/<id>/`` (whoever may read the review)."""

    def __init__(self) -> None:
        super().__init__(location=settings.REVIEWS_MEDIA_ROOT)


def review_media_storage() -> ReviewMediaStorage:
    """The storage of :class:`ReviewPhoto` files (a callable, so settings are read at use)."""
    return ReviewMediaStorage()


def review_photo_path(instance: "ReviewPhoto", filename: str) -> str:
    """``reviews/<uploader>/<photo id>.<ext>`` (the extension from the re-encoded type)."""
    return f"reviews/{instance.uploaded_by_id}/{instance.pk}.{instance.extension}"


class ReviewPhoto(PhotoFields):
    """A photo of a review, uploaded before the review (or an edit) attaches it (``review``
    null until then; unattached ones are purged after a day). Decoded and re-encoded without
    metadata (``commerce.common.photos``)."""

    review = models.ForeignKey(Review, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=review_photo_path, storage=review_media_storage, max_length=200)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["uploaded_by", "review"], name="commerce_reviewphoto_owner")]

    def __str__(self) -> str:
        return f"{self.content_type} {self.width}x{self.height} ({self.review_id or 'unattached'})"


class ReviewReport(models.Model):
    """``reporter`` reported ``review`` (once per person). ``handled_at`` is set when staff hide
    or restore the review."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    text = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["review", "reporter"], name="commerce_reviewreport_once")]

    def __str__(self) -> str:
        return f"report of {self.review_id}: {self.reason}"


class ReviewModeration(models.Model):
    """Audit row: staff (``actor``) moved ``review`` ``from_status -> to_status`` with ``reason``."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="moderations")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.from_status} -> {self.to_status}"


class StoreRating(models.Model):
    """What the counted reviews of one store's products add up to: ``count``, ``total`` (the sum
    of their stars), ``stars_1`` … ``stars_5`` (the distribution) and ``average`` (``total /
    count`` rounded half-up to 2 places, 0 without reviews: stored so that stores can be sorted
    by it). A row once the store had a counted review. Changed only by
    ``commerce.reviews.services`` with relative ``UPDATE``\\ s in the transaction of the review
    change (exact under concurrency); rebuilt from the reviews by
    ``commerce.reviews.selectors.rating_recount``. (A product's rating is the catalogue's:
    ``Product.rating_count`` / ``rating_sum`` / ``rating_distribution``.)"""

    vendor = models.OneToOneField(Vendor, primary_key=True, on_delete=models.CASCADE, related_name="review_rating")
    count = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    stars_1 = models.PositiveIntegerField(default=0)
    stars_2 = models.PositiveIntegerField(default=0)
    stars_3 = models.PositiveIntegerField(default=0)
    stars_4 = models.PositiveIntegerField(default=0)
    stars_5 = models.PositiveIntegerField(default=0)
    average = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.00"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.average} ({self.count})"

    @property
    def distribution(self) -> list[int]:
        """Reviews with 1, 2, 3, 4 and 5 stars."""
        return [getattr(self, f"stars_{s}") for s in STARS]
