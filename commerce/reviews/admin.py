"""Admin of reviews: reviews read-only with their photos, reports and moderation trail (they
change only through ``commerce.reviews.services``, which keeps the ratings exact); staff hide or
restore selected reviews with the actions below (the same service, with a reason naming the admin
site), and read the stores' ratings (a product's rating is on the catalogue's product page)."""

from django.contrib import admin, messages

from core.exceptions import ApplicationError

from commerce.common.admin import ReadOnlyAdmin, ReadOnlyInline
from commerce.reviews.models import (
    Review,
    ReviewModeration,
    ReviewPhoto,
    ReviewReport,
    ReviewStatus,
    StoreRating,
)
from commerce.reviews.services import review_moderate


class ReviewPhotoInline(ReadOnlyInline):
    model = ReviewPhoto
    fields = ("id", "content_type", "width", "height", "size", "created_at")
    readonly_fields = fields


class ReviewReportInline(ReadOnlyInline):
    model = ReviewReport
    fields = ("created_at", "reporter", "reason", "text", "handled_at")
    readonly_fields = fields


class ReviewModerationInline(ReadOnlyInline):
    model = ReviewModeration
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


def _moderate(modeladmin, request, queryset, to_status: str) -> None:
    done = 0
    for review in queryset.exclude(status=to_status):
        try:
            review_moderate(user=request.user, review_id=review.pk, to_status=to_status,
                            reason=f"{ReviewStatus(to_status).label} from the admin site by {request.user}")
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{review.pk}: {exc.detail}", level=messages.ERROR)
    modeladmin.message_user(request, f"{done} review(s) changed.")


@admin.action(description="Hide the selected reviews")
def hide_reviews(modeladmin, request, queryset) -> None:
    _moderate(modeladmin, request, queryset, ReviewStatus.HIDDEN)


@admin.action(description="Restore the selected reviews")
def restore_reviews(modeladmin, request, queryset) -> None:
    _moderate(modeladmin, request, queryset, ReviewStatus.VISIBLE)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    """Reviews with their photos, reports and moderation trail; most reported first in the
    ``open_reports`` ordering."""

    list_display = ("id", "product", "vendor", "author", "rating", "status", "line_refunded", "open_reports",
                    "replied_at", "created_at")
    list_filter = ("status", "rating", "line_refunded")
    search_fields = ("title", "text", "author__email", "vendor__name", "order_line__product_name")
    inlines = [ReviewPhotoInline, ReviewReportInline, ReviewModerationInline]
    actions = [hide_reviews, restore_reviews]


@admin.register(StoreRating)
class StoreRatingAdmin(ReadOnlyAdmin):
    list_display = ("vendor", "average", "count", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5", "updated_at")
    search_fields = ("vendor__name",)
