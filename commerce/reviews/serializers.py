"""Input and output serializers of the reviews API. The output serializers render the review
payloads everywhere they appear: REST bodies, the ``review.*`` events, the product page's
``latest_reviews`` and ``product.reviews_changed`` (``commerce.reviews.selectors``). Ratings have
one shape, the catalogue's (``commerce.catalog.serializers.RatingOutputSerializer``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import TimestampField

from commerce.common.photos import PhotoOutputSerializer
from commerce.reviews.models import MAX_RATING, MIN_RATING, ReportReason, ReviewStatus

# --- input -----------------------------------------------------------------------------------


class ReviewCreateInputSerializer(serializers.Serializer):
    order_line_id = serializers.IntegerField(min_value=1)
    rating = serializers.IntegerField(min_value=MIN_RATING, max_value=MAX_RATING)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    photo_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=50,
                                      help_text="Photos uploaded with POST /reviews/photos/ (at most 5)")


class ReviewEditInputSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=MIN_RATING, max_value=MAX_RATING, required=False)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    photo_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=50,
                                      help_text="The photos the review keeps and gains (at most 5); leave out to keep them")


class ReviewReplyInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class ReviewReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReviewModerateInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ReviewPhotoUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField()


# --- output ----------------------------------------------------------------------------------


class ReviewPhotoOutputSerializer(PhotoOutputSerializer):
    url_prefix = "/api/v1/reviews/photos/"


class ReviewReplySerializer(serializers.Serializer):
    text = serializers.CharField(source="reply_text")
    replied_at = TimestampField()
    edited_at = TimestampField(source="reply_edited_at", allow_null=True)


class ReviewVendorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ReviewOutputSerializer(serializers.Serializer):
    """A review (``commerce.reviews.selectors.review_data``): REST bodies, the ``review`` of the
    ``review.*`` events, the catalogue's ``latest_reviews``. ``author_name`` is the author's
    display name (``"Buyer"`` without one); ``moderation_reason`` only for the author, the
    store's staff and marketplace staff (null for others)."""

    id = serializers.UUIDField()
    product_id = serializers.UUIDField(allow_null=True)
    product_name = serializers.CharField(source="order_line.product_name")
    order_line_id = serializers.IntegerField()
    vendor = ReviewVendorSerializer()
    author_name = serializers.SerializerMethodField()
    rating = serializers.IntegerField(min_value=MIN_RATING, max_value=MAX_RATING)
    title = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    photos = ReviewPhotoOutputSerializer(many=True, source="photos.all")
    verified_purchase = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    counts = serializers.BooleanField(help_text="Counted in the ratings and shown in public lists")
    moderation_reason = serializers.SerializerMethodField()
    reply = serializers.SerializerMethodField()
    created_at = TimestampField()
    edited_at = TimestampField(allow_null=True)

    def get_author_name(self, review) -> str:  # noqa: D102
        return review.author.display_name or "Buyer"

    def get_verified_purchase(self, review) -> bool:  # noqa: D102
        return True  # every review is of a delivered order line

    @extend_schema_field({"type": "string", "nullable": True})
    def get_moderation_reason(self, review) -> str | None:  # noqa: D102
        return review.moderation_reason if self.context.get("moderation") else None

    @extend_schema_field(ReviewReplySerializer(allow_null=True))
    def get_reply(self, review) -> dict[str, Any] | None:  # noqa: D102
        return ReviewReplySerializer(review).data if review.replied_at else None


class ReviewDetailOutputSerializer(ReviewOutputSerializer):
    """:class:`ReviewOutputSerializer` for one viewer: until when the author may edit
    (``editable_until``) and what the viewer may do now (``allowed_actions``: ``edit``,
    ``reply``, ``edit_reply``, ``report``, ``hide``, ``restore``)."""

    editable_until = TimestampField()
    allowed_actions = serializers.SerializerMethodField()

    def get_allowed_actions(self, review) -> list[str]:  # noqa: D102
        return list(self.context.get("allowed_actions", []))


class ReviewQueueItemSerializer(ReviewOutputSerializer):
    """A reported review in the staff queue, with its open reports."""

    open_reports = serializers.IntegerField()
    reports = serializers.SerializerMethodField()

    @extend_schema_field({"type": "array", "items": {"type": "object", "properties": {
        "reason": {"type": "string", "enum": ReportReason.values}, "text": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}}}})
    def get_reports(self, review) -> list[dict[str, Any]]:  # noqa: D102
        return [{"reason": r.reason, "text": r.text, "created_at": TimestampField().to_representation(r.created_at)}
                for r in review.reports.all() if r.handled_at is None]


class ReviewReportOutputSerializer(serializers.Serializer):
    """A report as its reporter gets it back (reports are not shown to anyone else but staff)."""

    review_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    created_at = TimestampField()


class OrderReviewableLineSerializer(serializers.Serializer):
    """A line of an order with the buyer's review of it, if any."""

    order_line_id = serializers.IntegerField()
    product_id = serializers.UUIDField(allow_null=True)
    product_name = serializers.CharField()
    review_id = serializers.UUIDField(allow_null=True, help_text="Your review of the line, if any")
