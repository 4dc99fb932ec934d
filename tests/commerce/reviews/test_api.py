"""Reviews over REST from every side: the buyer uploads a photo and reviews a delivered line, the
public reads the product's and the store's reviews and ratings and finds the product by rating
in the catalogue (its detail shows the rating and the latest reviews), the store replies, someone
reports, staff hide from the queue (the review leaves the public lists and the ratings) and
restore. Also how many queries a review costs."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from commerce.reviews import services
from commerce.reviews.models import Review
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.returns import delivered_order_of
from tests.factories.reviews import line_ids, reviewed
from tests.images import assert_no_metadata, gps_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.REVIEWS_MEDIA_ROOT = tmp_path


def test_a_review_from_the_buyer_to_the_public_the_store_and_staff_over_rest():
    store = VendorFactory()
    order = delivered_order_of([("30.00", 1), ("8.00", 1)], vendor=store)
    kettle, mug = line_ids(order)
    buyer, public = client_for(order.buyer), APIClient()
    clerk = VendorStaffFactory(vendor=store).user

    up = buyer.post("/api/v1/reviews/photos/", {"file": SimpleUploadedFile("k.jpg", gps_jpeg(), "image/jpeg")},
                    format="multipart")
    assert up.status_code == 201, up.content
    lines = buyer.get(f"/api/v1/orders/{order.pk}/reviews/").json()
    assert [(line["order_line_id"], line["review_id"]) for line in lines] == [(kettle, None), (mug, None)]
    r = buyer.post("/api/v1/reviews/", {"order_line_id": kettle, "rating": 5, "title": "Boils fast",
                                        "text": "Quiet and quick.", "photo_ids": [up.json()["id"]]}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["rating"], body["counts"], body["verified_purchase"], body["allowed_actions"]) == (5, True, True, ["edit"])
    assert len(body["photos"]) == 1
    photo = public.get(body["photos"][0]["url"])
    assert photo.status_code == 200 and assert_no_metadata(b"".join(photo.streaming_content))
    assert buyer.post("/api/v1/reviews/", {"order_line_id": mug, "rating": 2}, format="json").status_code == 201
    product_id = body["product_id"]

    # the public: lists, ratings, the catalogue
    listed = public.get(f"/api/v1/products/{product_id}/reviews/").json()
    assert [x["id"] for x in listed["results"]] == [body["id"]] and listed["results"][0]["moderation_reason"] is None
    assert public.get(f"/api/v1/products/{product_id}/").json()["rating"] == {
        "average": "5.00", "count": 1, "distribution": [0, 0, 0, 0, 1]}
    assert public.get(f"/api/v1/vendors/{store.pk}/rating/").json() == {
        "average": "3.50", "count": 2, "distribution": [0, 1, 0, 0, 1]}
    assert [x["rating"] for x in public.get(f"/api/v1/vendors/{store.pk}/reviews/").json()["results"]] == [2, 5]
    assert [x["rating"] for x in public.get(f"/api/v1/vendors/{store.pk}/reviews/?rating=2").json()["results"]] == [2]
    assert public.get(f"/api/v1/vendors/{store.pk}/reviews/?rating=9").status_code == 400
    detail = public.get(f"/api/v1/products/{product_id}/").json()
    assert detail["rating"]["distribution"][4] == 1 and [x["id"] for x in detail["latest_reviews"]] == [body["id"]]
    assert detail["latest_reviews"][0] == listed["results"][0]
    found = public.get(f"/api/v1/products/?vendor={store.pk}&min_rating=4").json()["results"]
    assert [p["id"] for p in found] == [product_id] and found[0]["rating"] == detail["rating"]
    assert "latest_reviews" not in found[0]  # the list shows the rating only
    ordered = public.get(f"/api/v1/products/?vendor={store.pk}&ordering=-rating").json()["results"]
    assert [p["rating"]["average"] for p in ordered] == ["5.00", "2.00"]

    # the store answers in public; the buyer is notified
    reply = client_for(clerk).post(f"/api/v1/reviews/{body['id']}/reply/", {"text": "Thanks!"}, format="json")
    assert reply.status_code == 200 and reply.json()["reply"]["text"] == "Thanks!"
    assert Notification.objects.filter(recipient=order.buyer, kind="review.replied").count() == 1
    assert public.get(f"/api/v1/reviews/{body['id']}/").json()["reply"]["text"] == "Thanks!"

    # reported, then hidden by staff from the queue: gone from the public and the ratings
    reporter = client_for(UserFactory())
    assert reporter.post(f"/api/v1/reviews/{body['id']}/report/", {"reason": "fake"}, format="json").status_code == 201
    staff = client_for(AdminFactory())
    queue = staff.get("/api/v1/reviews/reported/").json()["results"]
    assert [(x["id"], x["open_reports"], x["reports"][0]["reason"]) for x in queue] == [(body["id"], 1, "fake")]
    hidden = staff.post(f"/api/v1/reviews/{body['id']}/hide/", {"reason": "Paid review."}, format="json")
    assert hidden.status_code == 200 and hidden.json()["allowed_actions"] == ["restore"]
    assert public.get(f"/api/v1/products/{product_id}/reviews/").json()["results"] == []
    assert public.get(f"/api/v1/reviews/{body['id']}/").status_code == 404
    assert public.get(f"/api/v1/products/{product_id}/").json()["rating"]["count"] == 0
    assert public.get(f"/api/v1/products/{product_id}/").json()["latest_reviews"] == []
    mine = buyer.get(f"/api/v1/reviews/{body['id']}/").json()
    assert (mine["status"], mine["moderation_reason"], mine["allowed_actions"]) == ("hidden", "Paid review.", [])
    assert staff.get("/api/v1/reviews/reported/").json()["results"] == []
    again = staff.post(f"/api/v1/reviews/{body['id']}/hide/", {"reason": "Again."}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert staff.post(f"/api/v1/reviews/{body['id']}/restore/", {"reason": "Verified."},
                      format="json").json()["counts"] is True
    assert public.get(f"/api/v1/products/{product_id}/").json()["rating"]["count"] == 1
    assert {n.kind for n in Notification.objects.filter(recipient=order.buyer)} >= {"review.replied", "review.moderated"}
    assert [r["id"] for r in buyer.get("/api/v1/reviews/").json()["results"]][1] == body["id"]


def test_bad_input_is_a_clear_400_and_changes_nothing():
    order = delivered_order_of([("5.00", 1)])
    buyer = client_for(order.buyer)
    line = line_ids(order)[0]
    for bad in ({"order_line_id": line, "rating": 6}, {"order_line_id": line}, {"order_line_id": "x", "rating": 3},
                {"order_line_id": line, "rating": 3, "photo_ids": ["nope"]}):
        r = buyer.post("/api/v1/reviews/", bad, format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid", (bad, r.content)
    assert buyer.get("/api/v1/reviews/not-a-uuid/").status_code == 404
    assert Review.objects.count() == 0 and not OutboxEvent.objects.filter(type__startswith="review.").exists()


def test_queries_per_review_create_and_per_public_page_do_not_grow_with_photos_or_reviews():
    order = delivered_order_of([("5.00", 1), ("6.00", 1), ("7.00", 1)])
    first, second, third = line_ids(order)
    photos = [services.review_photo_upload(user=order.buyer, file=SimpleUploadedFile("p.jpg", gps_jpeg(),
                                                                                        "image/jpeg")).pk
              for _ in range(5)]
    public = APIClient()
    with CaptureQueriesContext(connection) as bare:
        reviewed(order, line=first)
    with CaptureQueriesContext(connection) as one:
        assert public.get(f"/api/v1/vendors/{order.vendor_id}/reviews/").status_code == 200
    with CaptureQueriesContext(connection) as with_photos:
        reviewed(order, line=second, photo_ids=photos)
    reviewed(order, line=third)
    with CaptureQueriesContext(connection) as three:
        assert len(public.get(f"/api/v1/vendors/{order.vendor_id}/reviews/").json()["results"]) == 3
    assert len(with_photos) - len(bare) <= 2  # five photos: locked in one statement, attached in one
    assert len(three) == len(one)  # a page costs the same whatever it holds
    print(f"\nqueries: review_create {len(bare)}, with 5 photos {len(with_photos)}, a public page {len(three)}")
