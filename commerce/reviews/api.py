"""REST views of reviews (thin: validate with an input serializer, call
``commerce.reviews.services``, render with ``commerce.reviews.selectors``).

Public (anyone): a product's and a store's counted reviews, a store's rating (a product's is on its
page, ``GET /products/{id}/``), a counted review.
Buyers: write, edit, their photos, their reviews, what of an order they reviewed. Stores: the
public reply. Anyone signed in: report. Marketplace staff: the report queue, hide, restore.
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError, Forbidden, NotFound
from core.idempotency import OPTIONAL_IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.pagination import NewestFirstCursorPagination
from core.schema import error_responses
from core.utils import validated

from commerce.catalog.models import Product
from commerce.catalog.serializers import RatingOutputSerializer
from commerce.common.photos import photo_file_response
from commerce.orders.selectors import order_get_visible
from commerce.reviews import selectors, services
from commerce.reviews.models import Review, ReviewStatus
from commerce.reviews.permissions import can_moderate_reviews
from commerce.reviews.serializers import (
    OrderReviewableLineSerializer,
    ReviewCreateInputSerializer,
    ReviewDetailOutputSerializer,
    ReviewEditInputSerializer,
    ReviewModerateInputSerializer,
    ReviewOutputSerializer,
    ReviewPhotoOutputSerializer,
    ReviewPhotoUploadInputSerializer,
    ReviewQueueItemSerializer,
    ReviewReplyInputSerializer,
    ReviewReportInputSerializer,
    ReviewReportOutputSerializer,
)
from commerce.stores.models import Vendor

TAGS = ["reviews"]
RATING_PARAMETER = OpenApiParameter("rating", OpenApiTypes.INT, description="Only reviews with this many stars (1-5)")


def _detail(request: Request, review, *, code: int = status.HTTP_200_OK) -> Response:
    review = selectors.review_get_visible(user=request.user, review_id=review.pk)
    return Response(selectors.review_detail_data(review, viewer=request.user), status=code)


def _stars(request: Request) -> int | None:
    raw = request.query_params.get("rating")
    if raw in (None, ""):
        return None
    if raw not in {"1", "2", "3", "4", "5"}:
        raise ApplicationError("rating is 1 to 5.", code="invalid", fields={"rating": ["1 to 5."]})
    return int(raw)


def _product_id(product_id):
    if not Product.objects.public().filter(pk=product_id).exists():
        raise NotFound("Product not found.", code="product_not_found")
    return product_id


def _vendor_id(vendor_id):
    if not Vendor.objects.filter(pk=vendor_id).exists():
        raise NotFound("Store not found.", code="vendor_not_found")
    return vendor_id


class _PublicReviewList(generics.GenericAPIView):
    permission_classes = [AllowAny]
    pagination_class = NewestFirstCursorPagination
    serializer_class = ReviewOutputSerializer
    queryset = Review.objects.none()  # for the OpenAPI document; get() builds the list

    def page(self, qs) -> Response:
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([selectors.review_data(r, moderation=False) for r in page])


class ProductReviewListApi(_PublicReviewList):
    @extend_schema(summary="A product's reviews", operation_id="product_reviews_list",
                   description="Counted reviews (visible, their line not refunded), newest first. Anyone may read.",
                   parameters=[RATING_PARAMETER], responses={200: ReviewOutputSerializer(many=True),
                                                             **error_responses(400, 404, e404="Unknown or invalid cursor")},
                   tags=TAGS)
    def get(self, request: Request, product_id) -> Response:
        return self.page(selectors.product_reviews(product_id=_product_id(product_id), rating=_stars(request)))


class StoreReviewListApi(_PublicReviewList):
    @extend_schema(summary="A store's reviews", operation_id="vendor_reviews_list",
                   description="Counted reviews of the store's products, newest first. Anyone may read.",
                   parameters=[RATING_PARAMETER], responses={200: ReviewOutputSerializer(many=True),
                                                             **error_responses(400, 404, e404="Unknown or invalid cursor")},
                   tags=TAGS)
    def get(self, request: Request, vendor_id) -> Response:
        return self.page(selectors.store_reviews(vendor_id=_vendor_id(vendor_id), rating=_stars(request)))


class StoreRatingApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="A store's rating", description="Average, count and distribution 1-5 of the counted "
                   "reviews of its products.", responses={200: RatingOutputSerializer, **error_responses(404)},
                   tags=TAGS)
    def get(self, request: Request, vendor_id) -> Response:
        return Response(selectors.store_rating_data(selectors.store_rating(_vendor_id(vendor_id))))


class ReviewListCreateApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstCursorPagination
    serializer_class = ReviewOutputSerializer
    queryset = Review.objects.none()  # for the OpenAPI document; get() builds the list

    @extend_schema(summary="Your reviews", operation_id="reviews_mine_list",
                   description="The reviews you wrote, in every state, newest first.",
                   responses={200: ReviewOutputSerializer(many=True),
                              **error_responses(400, 401, 404, e404="Invalid cursor")}, tags=TAGS)
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.reviews_of_author(user=request.user))
        return self.get_paginated_response([selectors.review_data(r) for r in page])

    @extend_schema(
        summary="Review a product you received (buyer)",
        description="One review per line of a delivered order: 1-5 stars, a title and a text (may be empty), up to "
        "5 photos uploaded before (`photo_ids`). 404 `order_line_not_found` (not your order); 403 `own_store`; 409 "
        "`not_delivered`, `line_refunded`, `already_reviewed`; 400 `invalid`, `invalid_photo`, `too_many_photos`.",
        request=ReviewCreateInputSerializer, parameters=[OPTIONAL_IDEMPOTENCY_KEY_PARAMETER],
        responses={201: ReviewDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=TAGS,
    )
    @idempotent(scope="review_create", required=False)
    def post(self, request: Request) -> Response:
        data = validated(ReviewCreateInputSerializer, request.data)
        review = services.review_create(user=request.user, **data)
        return _detail(request, review, code=status.HTTP_201_CREATED)


class ReviewDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsAuthenticated()]

    @extend_schema(summary="A review with what you may do now",
                   description="Anyone reads a counted review; a hidden one only its author, the store's staff and "
                   "marketplace staff (404 for others).",
                   responses={200: ReviewDetailOutputSerializer, **error_responses(404)}, tags=TAGS)
    def get(self, request: Request, review_id) -> Response:
        review = selectors.review_get_visible(user=request.user, review_id=review_id)
        return Response(selectors.review_detail_data(review, viewer=request.user))

    @extend_schema(summary="Edit your review (author)",
                   description="For 30 days after it was written, while visible. 403 `review_action_not_allowed`; "
                   "409 `edit_window_closed`, `review_hidden`.", request=ReviewEditInputSerializer,
                   responses={200: ReviewDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def patch(self, request: Request, review_id) -> Response:
        data = validated(ReviewEditInputSerializer, request.data)
        return _detail(request, services.review_edit(user=request.user, review_id=review_id, **data))


class ReviewReplyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The store's public reply (store staff)",
                   description="One reply per review: the first call posts it, later calls edit it. 403 "
                   "`review_action_not_allowed` (not the store's staff).", request=ReviewReplyInputSerializer,
                   responses={200: ReviewDetailOutputSerializer, **error_responses(400, 401, 403, 404)}, tags=TAGS)
    def post(self, request: Request, review_id) -> Response:
        data = validated(ReviewReplyInputSerializer, request.data)
        return _detail(request, services.review_reply(user=request.user, review_id=review_id, text=data["text"]))


class ReviewReportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Report a review", description="Anyone signed in but its author, once. 403 "
                   "`review_action_not_allowed`; 409 `already_reported`, `review_hidden`.",
                   request=ReviewReportInputSerializer,
                   responses={201: ReviewReportOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, review_id) -> Response:
        data = validated(ReviewReportInputSerializer, request.data)
        report = services.review_report(user=request.user, review_id=review_id, **data)
        return Response(ReviewReportOutputSerializer(report).data, status=status.HTTP_201_CREATED)


class _ModerateApi(APIView):
    permission_classes = [IsAuthenticated]
    to_status = ""

    def post(self, request: Request, review_id) -> Response:
        data = validated(ReviewModerateInputSerializer, request.data)
        return _detail(request, services.review_moderate(user=request.user, review_id=review_id,
                                                          to_status=self.to_status, reason=data["reason"]))


_MODERATION = ("Marketplace staff, with a reason the author and the store see; handles the open reports. 403 "
               "`review_action_not_allowed`; 409 `invalid_transition`.")


class ReviewHideApi(_ModerateApi):
    to_status = ReviewStatus.HIDDEN

    @extend_schema(summary="Hide a review (marketplace staff)", description=_MODERATION,
                   request=ReviewModerateInputSerializer,
                   responses={200: ReviewDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, review_id) -> Response:
        return super().post(request, review_id)


class ReviewRestoreApi(_ModerateApi):
    to_status = ReviewStatus.VISIBLE

    @extend_schema(summary="Restore a hidden review (marketplace staff)", description=_MODERATION,
                   request=ReviewModerateInputSerializer,
                   responses={200: ReviewDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, review_id) -> Response:
        return super().post(request, review_id)


class ReviewQueueApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ReviewQueueItemSerializer
    queryset = Review.objects.none()  # for the OpenAPI document; get() builds the list

    @extend_schema(summary="Reported reviews (marketplace staff)", operation_id="reviews_reported_list",
                   description="Reviews with open reports, most reported first. 403 `review_action_not_allowed`.",
                   responses={200: ReviewQueueItemSerializer(many=True), **error_responses(400, 401, 403, 404)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        if not can_moderate_reviews(request.user):
            raise Forbidden("Only marketplace staff work the review queue.", code="review_action_not_allowed")
        page = self.paginate_queryset(selectors.reported_reviews(user=request.user))
        return self.get_paginated_response(ReviewQueueItemSerializer(page, many=True, context={"moderation": True}).data)


class OrderReviewsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An order's lines and their reviews", responses={
        200: OrderReviewableLineSerializer(many=True), **error_responses(401, 404)}, tags=TAGS)
    def get(self, request: Request, order_id) -> Response:
        order = order_get_visible(user=request.user, order_id=order_id)
        return Response(OrderReviewableLineSerializer(selectors.reviewable_lines(order=order), many=True).data)


class ReviewPhotoUploadApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Upload a photo for a review",
                   description="JPEG, PNG, GIF or WebP, at most 5 MiB; re-encoded without metadata. Attach it with "
                   "`photo_ids` within a day.", request={"multipart/form-data": ReviewPhotoUploadInputSerializer},
                   responses={201: ReviewPhotoOutputSerializer, **error_responses(400, 401, 409)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        photo = services.review_photo_upload(user=request.user, file=request.FILES.get("file"))
        return Response(ReviewPhotoOutputSerializer(photo).data, status=status.HTTP_201_CREATED)


class ReviewPhotoDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="A review's photo", description="Whoever may read the review; the uploader while it is "
                   "unattached.", parameters=[OpenApiParameter("photo_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **error_responses(404)},
                   tags=TAGS)
    def get(self, request: Request, photo_id) -> FileResponse:
        return photo_file_response(selectors.review_photo_get_visible(user=request.user, photo_id=photo_id))
