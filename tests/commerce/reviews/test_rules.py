"""Who may review what and when, and the rules of editing, replying, reporting and moderating:
each refusal changes nothing (no review, no rating, no event)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from commerce.orders.models import Order
from commerce.payments import services as payments
from commerce.returns import services as returns
from commerce.reviews import services as reviews
from commerce.catalog.models import Product
from commerce.reviews.models import Review, ReviewPhoto, ReviewReport, StoreRating
from commerce.reviews.selectors import rating_recount
from core.exceptions import ApplicationError
from core.fsm import InvalidTransition
from realtime.models import OutboxEvent
from tests.factories.commerce import VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.orders import paid_order
from tests.factories.returns import delivered_order_of, inspected
from tests.factories.reviews import line_ids, reviewed
from tests.images import assert_no_metadata, gps_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.REVIEWS_MEDIA_ROOT = tmp_path
    settings.RETURNS_MEDIA_ROOT = tmp_path


def world() -> tuple:
    """What a refusal must leave alone: reviews, ratings (products' columns, stores'), events."""
    return (Review.objects.count(), list(Product.objects.order_by("pk").values_list("rating_distribution", flat=True)),
            list(StoreRating.objects.order_by("pk").values_list("count", "total")), OutboxEvent.objects.count())


def product_rating_count(product_id) -> int:
    return Product.objects.get(pk=product_id).rating_count


def refused(call) -> str:
    before = world()
    with pytest.raises(ApplicationError) as exc:
        call()
    assert world() == before
    return exc.value.code


def photo(user) -> ReviewPhoto:
    return reviews.review_photo_upload(user=user, file=SimpleUploadedFile("p.jpg", gps_jpeg(), "image/jpeg"))


def test_only_the_buyer_of_a_delivered_line_not_refunded_reviews_it():
    order = delivered_order_of([("10.00", 1), ("6.00", 2)])
    first, second = line_ids(order)
    stranger = UserFactory()
    assert refused(lambda: reviews.review_create(user=stranger, order_line_id=first, rating=5)) == "order_line_not_found"
    assert refused(lambda: reviews.review_create(user=order.buyer, order_line_id=10**9, rating=5)) == "order_line_not_found"
    undelivered = paid_order()
    undelivered_line = undelivered.lines.get().pk
    assert refused(lambda: reviews.review_create(user=undelivered.buyer, order_line_id=undelivered_line,
                                                 rating=5)) == "not_delivered"
    # the store's own people never review its products, even when they bought them
    clerk = VendorStaffFactory(vendor=order.vendor).user
    own = delivered_order_of([("3.00", 1)], vendor=order.vendor, buyer=clerk)
    assert refused(lambda: reviews.review_create(user=clerk, order_line_id=line_ids(own)[0], rating=5)) == "own_store"

    review = reviewed(order, line=first, rating=5)
    assert (review.rating, review.counts) == (5, True)
    assert refused(lambda: reviewed(order, line=first, rating=1)) == "already_reviewed"
    assert reviewed(order, line=second, rating=3).order_line_id == second


def test_a_line_refunded_in_full_is_not_reviewed_and_its_review_stops_counting():
    order = delivered_order_of([("10.00", 1), ("6.00", 2)])
    first, second = line_ids(order)
    kept = reviewed(order, line=first, rating=2)
    # every unit of the second line comes back with a refund: it cannot be reviewed any more
    rma = inspected(order, lines=[{"order_line_id": second, "quantity": 2}], reason="damaged")
    returns.return_refund(user=order.vendor.owner, return_id=rma.pk)
    assert refused(lambda: reviewed(order, line=second)) == "line_refunded"
    assert Review.objects.get(pk=kept.pk).counts
    # the whole order refunded: the first line's review stops counting, the rating loses it
    payments.refund_create(user=order.vendor.owner, order_id=order.pk)
    assert Order.objects.get(pk=order.pk).status == "refunded"
    kept.refresh_from_db()
    assert (kept.line_refunded, kept.counts) == (True, False)
    assert product_rating_count(kept.product_id) == 0
    assert rating_recount(vendor_id=order.vendor_id)["count"] == 0


def test_a_line_returned_and_refunded_in_part_drops_its_review():
    order = delivered_order_of([("10.00", 2)])
    review = reviewed(order, rating=1)
    rma = inspected(order, lines=[{"order_line_id": review.order_line_id, "quantity": 1}], reason="damaged")
    returns.return_refund(user=order.vendor.owner, return_id=rma.pk)
    assert Review.objects.get(pk=review.pk).counts  # one unit is still the buyer's
    rma = inspected(order, lines=[{"order_line_id": review.order_line_id, "quantity": 1}], reason="damaged")
    returns.return_refund(user=order.vendor.owner, return_id=rma.pk)
    assert not Review.objects.get(pk=review.pk).counts
    assert OutboxEvent.objects.filter(type="review.updated", data__change="line_refunded").count() == 2  # user:, vendor:


def test_stars_texts_and_up_to_five_photos_of_ones_own_uploads():
    order = delivered_order_of([("10.00", 1)])
    line = line_ids(order)[0]
    for bad in (0, 6, "5", None, True, 4.5):
        assert refused(lambda: reviews.review_create(user=order.buyer, order_line_id=line, rating=bad)) == "invalid"
    assert refused(lambda: reviewed(order, text="x" * 4001)) == "invalid"
    six = [photo(order.buyer).pk for _ in range(6)]
    assert refused(lambda: reviewed(order, photo_ids=six)) == "too_many_photos"
    someone_elses = photo(UserFactory()).pk
    assert refused(lambda: reviewed(order, photo_ids=[someone_elses])) == "invalid_photo"
    review = reviewed(order, photo_ids=six[:5])
    assert review.photos.count() == 5
    assert_no_metadata(review.photos.first().file.read())


def test_the_author_edits_for_thirty_days_while_visible():
    order = delivered_order_of([("10.00", 1)])
    review = reviewed(order, rating=2)
    other = UserFactory()
    assert refused(lambda: reviews.review_edit(user=other, review_id=review.pk, rating=5)) == "review_action_not_allowed"
    assert refused(lambda: reviews.review_edit(user=order.vendor.owner, review_id=review.pk,
                                               rating=5)) == "review_action_not_allowed"
    edited = reviews.review_edit(user=order.buyer, review_id=review.pk, rating=5, text="Better after a week.",
                                 now=review.created_at + timedelta(days=29, hours=23))
    assert (edited.rating, edited.text, Product.objects.get(pk=review.product_id).rating_distribution[4]) == (
        5, "Better after a week.", 1)
    assert refused(lambda: reviews.review_edit(user=order.buyer, review_id=review.pk, rating=1,
                                               now=review.created_at + timedelta(days=30))) == "edit_window_closed"
    reviews.review_moderate(user=AdminFactory(), review_id=review.pk, to_status="hidden", reason="Insults.")
    assert refused(lambda: reviews.review_edit(user=order.buyer, review_id=review.pk, rating=3)) == "review_hidden"


def test_the_store_replies_once_in_public_and_edits_its_reply():
    order = delivered_order_of([("10.00", 1)])
    review = reviewed(order)
    clerk = VendorStaffFactory(vendor=order.vendor).user
    for wrong in (order.buyer, UserFactory(), VendorStaffFactory().user):
        assert refused(lambda: reviews.review_reply(user=wrong, review_id=review.pk, text="Hi")) in (
            "review_action_not_allowed", "review_not_found")
    first = reviews.review_reply(user=clerk, review_id=review.pk, text="Thank you!")
    again = reviews.review_reply(user=order.vendor.owner, review_id=review.pk, text="Thank you, Anna!",
                                 now=timezone.now() + timedelta(minutes=5))
    assert (again.reply_text, again.replied_at, again.reply_edited_at is not None) == (
        "Thank you, Anna!", first.replied_at, True)
    assert [e.data["change"] for e in OutboxEvent.objects.filter(topic=f"user:{order.buyer_id}",
                                                                 type="review.updated").order_by("id")] == [
        "replied", "reply_edited"]


def test_reports_once_per_person_and_staff_hide_and_restore_with_a_reason():
    order = delivered_order_of([("10.00", 1)])
    review = reviewed(order, rating=1)
    assert refused(lambda: reviews.review_report(user=order.buyer, review_id=review.pk,
                                                 reason="spam")) == "review_action_not_allowed"
    a, b = UserFactory(), UserFactory()
    reviews.review_report(user=a, review_id=review.pk, reason="offensive", text="Rude.")
    reviews.review_report(user=b, review_id=review.pk, reason="fake")
    with pytest.raises(ApplicationError) as exc:
        reviews.review_report(user=a, review_id=review.pk, reason="spam")
    assert exc.value.code == "already_reported"
    assert Review.objects.get(pk=review.pk).open_reports == 2
    for wrong in (a, order.vendor.owner, order.buyer):
        with pytest.raises(ApplicationError) as exc:
            reviews.review_moderate(user=wrong, review_id=review.pk, to_status="hidden", reason="x")
        assert exc.value.code == "review_action_not_allowed"
    staff = AdminFactory()
    hidden = reviews.review_moderate(user=staff, review_id=review.pk, to_status="hidden", reason="Abusive language.")
    assert (hidden.status, hidden.moderation_reason, hidden.open_reports) == ("hidden", "Abusive language.", 0)
    assert not ReviewReport.objects.filter(review=review, handled_at=None).exists()
    assert rating_recount(product_id=review.product_id)["count"] == product_rating_count(review.product_id) == 0
    with pytest.raises(InvalidTransition):
        reviews.review_moderate(user=staff, review_id=review.pk, to_status="hidden", reason="Again.")
    with pytest.raises(ApplicationError) as exc:
        reviews.review_report(user=UserFactory(), review_id=review.pk, reason="spam")
    assert exc.value.code == "review_not_found"  # a hidden review is not public
    restored = reviews.review_moderate(user=staff, review_id=review.pk, to_status="visible", reason="Fair criticism.")
    assert restored.counts and product_rating_count(review.product_id) == 1
    assert list(review.moderations.values_list("to_status", "reason")) == [
        ("hidden", "Abusive language."), ("visible", "Fair criticism.")]
