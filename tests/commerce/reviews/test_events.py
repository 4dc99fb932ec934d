"""Reviews are live, in the style of Zulip's event tests: the store's desk (its ``vendor:``
topic) keeps its reviews and its rating, and the author's app (its ``user:`` topic) keeps its
reviews, by applying ``review.created`` / ``review.updated``, and each keeps exactly what a fresh
load shows (``GET /api/v1/vendors/{id}/reviews/`` with hidden ones for the store, ``GET
/api/v1/vendors/{id}/rating/``, ``GET /api/v1/reviews/``) through a review's life: written,
edited, answered, the answer edited, reported (no event: reports are private), hidden, restored,
and its order refunded.

The reducer: every ``review.*`` event replaces the review it carries (whole) and the store's
rating; other events of the topics are not about reviews. Everything is compared.

The live product page (``product:<id>``) follows the reviews too: a buyer and the store's clerk
who start from its snapshot and apply ``product.rating_changed`` (the catalogue's columns, kept
by the reviews room through ``product_rating_apply``) and ``product.reviews_changed`` (the
latest reviews) hold exactly a fresh ``GET /api/v1/products/{id}/`` after each review change.
"""

from __future__ import annotations

import pytest

from commerce.catalog import services as catalog
from commerce.catalog.events import PRODUCT_TOPIC
from commerce.orders.events import VENDOR_TOPIC
from commerce.payments import services as payments
from commerce.reviews import services as reviews
from commerce.reviews.models import Review
from commerce.reviews.selectors import review_data, review_queryset, store_rating, store_rating_data
from realtime.user_topic import USER_TOPIC
from tests.commerce.catalog.test_product_topic import reduce_page
from tests.conftest import client_for
from tests.factories.commerce import VendorStaffFactory
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
                 "store_rating": store_rating_data(store_rating(store))})


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


def test_the_product_page_keeps_exactly_its_rating_and_latest_reviews_through_review_changes():
    order = delivered_order_of([("20.00", 1)])
    other = delivered_order_of([("9.00", 1)], vendor=order.vendor)
    product_id = order.lines.get().product_id
    other.lines.update(product_id=product_id)  # a second buyer of the same product
    clerk = VendorStaffFactory(vendor=order.vendor).user
    buyer = UserFactory()
    clients = [Client(user=u, topic=PRODUCT_TOPIC.name(product_id), reduce=reduce_page) for u in (buyer, clerk)]

    def sync(*types):
        for client in clients:
            client.sync(*types)

    review = reviewed(order, rating=4)
    sync("product.rating_changed", "product.reviews_changed")
    assert clients[0].state["rating"] == {"average": "4.00", "count": 1, "distribution": [0, 0, 0, 1, 0]}
    assert [r["id"] for r in clients[0].state["latest_reviews"]] == [str(review.pk)]
    second = reviewed(other, rating=1)
    sync("product.rating_changed", "product.reviews_changed")
    reviews.review_edit(user=order.buyer, review_id=review.pk, rating=5, text="Better than I said.")
    sync("product.rating_changed", "product.reviews_changed")
    reviews.review_reply(user=clerk, review_id=second.pk, text="Sorry, write to us.")
    sync("product.reviews_changed")
    staff = AdminFactory()
    reviews.review_moderate(user=staff, review_id=review.pk, to_status="hidden", reason="Looks paid.")
    sync("product.rating_changed", "product.reviews_changed")
    assert [r["id"] for r in clients[0].state["latest_reviews"]] == [str(second.pk)]
    assert clients[0].state["rating"] == {"average": "1.00", "count": 1, "distribution": [1, 0, 0, 0, 0]}
    reviews.review_moderate(user=staff, review_id=review.pk, to_status="visible", reason="Checked.")
    sync("product.rating_changed", "product.reviews_changed")
    # the page's product changes too: product.updated carries the whole page, latest reviews included
    catalog.products_adjust_stock(changes={product_id: 3}, reason="restock")
    sync("product.updated")
    payments.refund_create(user=other.vendor.owner, order_id=other.pk)
    sync("product.rating_changed", "product.reviews_changed")
    assert clients[1].state["rating"]["count"] == 1
    assert clients[1].state == wire(client_for(buyer).get(f"/api/v1/products/{product_id}/").json())


def test_a_product_off_sale_hears_nothing_of_its_reviews_and_comes_back_whole():
    order = delivered_order_of([("20.00", 1)])
    product_id = order.lines.get().product_id
    clerk = VendorStaffFactory(vendor=order.vendor).user
    catalog.product_update(user=order.vendor.owner, product_id=product_id, is_active=False)
    page = Client(user=clerk, topic=PRODUCT_TOPIC.name(product_id), reduce=reduce_page)
    reviewed(order, rating=2)
    assert page.catch_up() == []  # a hidden product's topic stays silent
    catalog.product_update(user=order.vendor.owner, product_id=product_id, is_active=True)
    page.sync("product.updated")
    assert page.state["rating"]["count"] == 1 and len(page.state["latest_reviews"]) == 1
