"""Routes of reviews (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.reviews import api

urlpatterns = [
    path("products/<uuid:product_id>/reviews/", api.ProductReviewListApi.as_view(), name="product-reviews"),
    path("vendors/<uuid:vendor_id>/reviews/", api.StoreReviewListApi.as_view(), name="vendor-reviews"),
    path("vendors/<uuid:vendor_id>/rating/", api.StoreRatingApi.as_view(), name="vendor-rating"),
    path("orders/<uuid:order_id>/reviews/", api.OrderReviewsApi.as_view(), name="order-reviews"),
    path("reviews/", api.ReviewListCreateApi.as_view(), name="review-list"),
    path("reviews/reported/", api.ReviewQueueApi.as_view(), name="review-queue"),
    path("reviews/photos/", api.ReviewPhotoUploadApi.as_view(), name="review-photo-upload"),
    path("reviews/photos/<uuid:photo_id>/", api.ReviewPhotoDetailApi.as_view(), name="review-photo-detail"),
    path("reviews/<uuid:review_id>/", api.ReviewDetailApi.as_view(), name="review-detail"),
    path("reviews/<uuid:review_id>/reply/", api.ReviewReplyApi.as_view(), name="review-reply"),
    path("reviews/<uuid:review_id>/report/", api.ReviewReportApi.as_view(), name="review-report"),
    path("reviews/<uuid:review_id>/hide/", api.ReviewHideApi.as_view(), name="review-hide"),
    path("reviews/<uuid:review_id>/restore/", api.ReviewRestoreApi.as_view(), name="review-restore"),
]
