"""Reviews are live, in the style of Zulip's event tests: the store's desk (its ``vendor:``
topic) keeps its reviews and its rating, and the author's app (its ``user:`` topic) keeps its
reviews, by applying ``review.created`` / ``review.updated``, and each keeps exactly what a fresh
load shows (``GET /api/v1/vendors/{id}/reviews/`` with hidden ones for the store, ``GET
/api/v1/vendors/{id}/rating/``, ``GET /api/v1/reviews/``) through a review's life: written,
edited, answered, the answer edited, reported (no event: reports are private), hidden, restored,
and its order refunded.

The reducer: every ``review.*`` event replaces the review it carries (whole) and the store's
rating; other events of the topics are not about reviews. Everything is compared.
"""

from __future__ import annotations

import pytest

from commerce.orders.events import VENDOR_TOPIC
from commerce.payments import services as payments
from commerce.reviews import services as reviews
from commerce.reviews.models import Review
from commerce.reviews.selectors import rating_data, review_data, review_queryset, store_rating
from realtime.user_topic import USER_TOPIC
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.returns import delivered_order_of
from tests.factories.reviews import line_ids, reviewed
from tests.realtime.replay import Client, wire

pytestmark = pytest.mark.django_db


def reduce_reviews(state: dict, type_: str, data: dict) -> dict:
    """What a client does with a ``review.*`` event of its ``user:`` / ``vendor:`` topic."""
    if type_.startswith("review."):
        state["reviews"][data["review"]["id"]] = data["review"]
        state["store_rating"] = data["store_rating"]
    return state


def fresh(store, **filters) -> dict:
    return wire({"reviews": {str(r.pk): review_data(r) for r in review_queryset().filter(**filters)},
                 "store_rating": rating_data(store_rating(store))})


def test_the_store_and_the_author_keep_exactly_their_reviews_and_the_rating_from_the_events():
    order = delivered_order_of([("20.00", 1), ("5.00", 1)])
    vendor_id, buyer = order.vendor_id, order.buyer
    desk = Client(user=order.vendor.owner, topic=VENDOR_TOPIC.name(vendor_id), reduce=reduce_reviews,
                  fetch=lambda: fresh(vendor_id, vendor_id=vendor_id))
    app = Client(user=buyer, topic=USER_TOPIC.name(buyer.pk), reduce=reduce_reviews,
                 fetch=lambda: fresh(vendor_id, author=buyer))

    def sync(*types):
        desk.sync(*types)
        app.sync(*types)

    first, second = line_ids(order)
    review = reviewed(order, line=first, rating=4)
    sync("review.created")
    reviewed(order, line=second, rating=1)
    sync("review.created")
    reviews.review_edit(user=buyer, review_id=review.pk, rating=5, text="Even better.")
    sync("review.updated")
    reviews.review_reply(user=order.vendor.owner, review_id=review.pk, text="Thank you!")
    sync("review.updated")
    reviews.review_reply(user=order.vendor.owner, review_id=review.pk, text="Thank you, again!")
    sync("review.updated")
    reviews.review_report(user=UserFactory(), review_id=review.pk, reason="fake")
    # reports are private: nothing is published to either side
    assert [t for t in desk.catch_up() + app.catch_up() if t.startswith("review.")] == []
    sync()
    staff = AdminFactory()
    reviews.review_moderate(user=staff, review_id=review.pk, to_status="hidden", reason="Looks paid.")
    sync("review.updated")
    assert desk.state["store_rating"]["count"] == 1
    reviews.review_moderate(user=staff, review_id=review.pk, to_status="visible", reason="Checked.")
    sync("review.updated")
    payments.refund_create(user=order.vendor.owner, order_id=order.pk)
    sync("review.updated")
    assert desk.state["store_rating"]["count"] == 0
    assert not any(r["counts"] for r in app.state["reviews"].values())
    assert Review.objects.filter(order=order, line_refunded=True).count() == 2
