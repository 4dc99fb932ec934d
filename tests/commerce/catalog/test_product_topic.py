"""The ``product:`` topic: who may follow a product page, the snapshot equals ``GET
/api/v1/products/{id}/``, and (Zulip style) a client that starts from the snapshot and applies
the events ends with exactly a fresh snapshot through price, stock, low-stock, text, rating and
availability changes.

The reducer a client writes:

* ``product.updated``: replace the page;
* ``product.rating_changed``: replace the page's ``rating``;
* ``product.unavailable``: ``available`` false, its ``updated_at`` (and ``is_active`` false when
  ``deactivated``).

Everything in the snapshot is compared.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from commerce.catalog import media, services
from commerce.catalog.events import PRODUCT_TOPIC
from commerce.catalog.models import CatalogSettings, Product
from commerce.catalog.realtime import ProductTopic
from commerce.demo import demo_photo
from commerce.stores.services import vendor_set_status
from core.exceptions import ApplicationError, Conflict
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.realtime.replay import Client, wire

pytestmark = pytest.mark.django_db


def reduce_page(state: dict, type_: str, data: dict) -> dict:
    """What a client does with an event of the ``product:`` topic."""
    if type_ == "product.updated":
        return data
    if type_ == "product.rating_changed":
        return {**state, "rating": data["rating"]}
    assert type_ == "product.unavailable", type_
    return {**state, "available": False, "updated_at": data["updated_at"], **({"is_active": False} if data["reason"] == "deactivated" else {})}


def topic_events(product) -> list[tuple[str, dict]]:
    return [(row.type, row.data) for row in OutboxEvent.objects.filter(topic=PRODUCT_TOPIC.name(product.pk)).order_by("id")]


def test_a_buyer_and_a_clerk_keep_exactly_the_page_through_every_change(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    vendor = VendorFactory()
    clerk = VendorStaffFactory(vendor=vendor, role="manager").user  # managers change products
    product = ProductFactory(vendor=vendor, price=Decimal("20.00"), stock=9)
    buyer = UserFactory()
    clients = [Client(user=u, topic=PRODUCT_TOPIC.name(product.pk), reduce=reduce_page) for u in (buyer, clerk)]

    def sync(*expected):
        for client in clients:
            client.sync(*expected)

    services.product_update(user=vendor.owner, product_id=product.pk, price="18.50")
    sync("product.updated")
    services.products_adjust_stock(changes={product.pk: -5}, reason="reservation")  # 4 left: low stock
    sync("product.updated")
    assert clients[0].state["low_stock"] is True and clients[0].state["stock"] == 4
    services.product_update(user=clerk, product_id=product.pk, description="Now with a lid.",
                            images=[{"url": "https://img.example/1.jpg"}])
    sync("product.updated")
    photo = SimpleUploadedFile("p.jpg", demo_photo(label="p", seed="topic", side=320), content_type="image/jpeg")
    uploaded = media.product_image_upload(user=clerk, product_id=product.pk, file=photo, is_primary=True)
    sync("product.updated")
    assert [(i["source"], i["is_primary"]) for i in clients[0].state["images"]] == [("link", False), ("upload", True)]
    media.product_images_reorder(user=vendor.owner, product_id=product.pk,
                                 image_ids=[uploaded.pk, *[i["id"] for i in clients[0].state["images"][:1]]])
    sync("product.updated")
    services.product_rating_apply(product_id=product.pk, add=[5, 4, 4])
    sync("product.rating_changed")
    assert clients[0].state["rating"] == {"average": "4.33", "count": 3, "distribution": [0, 0, 0, 2, 1]}
    services.product_rating_apply(product_id=product.pk, add=[1], remove=[4])  # an edit 4 -> 1
    sync("product.rating_changed")
    services.products_adjust_stock(changes={product.pk: 20}, reason="restock")
    sync("product.updated")

    # the store is suspended and restored: unavailable, then the whole page again
    admin = AdminFactory()
    vendor_set_status(vendor_id=vendor.pk, status="suspended", actor=admin)
    clients[1].sync("product.unavailable")  # the clerk still sees the page, unavailable
    assert clients[0].catch_up() == ["product.unavailable"] and clients[0].state["available"] is False
    assert not ProductTopic().authorize(user=buyer, key=str(product.pk))  # the buyer can no longer follow it
    vendor_set_status(vendor_id=vendor.pk, status="active", actor=admin)
    sync("product.updated")

    services.product_update(user=vendor.owner, product_id=product.pk, is_active=False)
    clients[1].sync("product.unavailable")
    assert clients[1].state["is_active"] is False
    services.product_update(user=vendor.owner, product_id=product.pk, is_active=True)
    clients[1].sync("product.updated")


def test_the_snapshot_is_the_rest_body_of_the_product(product):
    buyer = UserFactory()
    body = client_for(buyer).get(f"/api/v1/products/{product.pk}/").json()
    assert wire(ProductTopic().snapshot(user=buyer, key=str(product.pk))) == body
    assert body["rating"] == {"average": None, "count": 0, "distribution": [0, 0, 0, 0, 0]}
    assert body["available"] is True


def test_who_may_follow_a_product_page():
    vendor = VendorFactory()
    on_sale, hidden = ProductFactory(vendor=vendor), ProductFactory(vendor=vendor, is_active=False)
    deleted = ProductFactory(vendor=vendor)
    services.product_delete(user=vendor.owner, product_id=deleted.pk)
    topic, buyer, clerk = ProductTopic(), UserFactory(), VendorStaffFactory(vendor=vendor).user
    other_store = VendorFactory().owner
    inactive = UserFactory(is_active=False)

    assert topic.authorize(user=buyer, key=str(on_sale.pk))
    assert not topic.authorize(user=inactive, key=str(on_sale.pk))
    assert not topic.authorize(user=None, key=str(on_sale.pk))
    assert not topic.authorize(user=buyer, key=str(hidden.pk))  # unpublished: its store's staff only
    assert not topic.authorize(user=other_store, key=str(hidden.pk))
    assert topic.authorize(user=clerk, key=str(hidden.pk))
    assert not topic.authorize(user=clerk, key=str(deleted.pk))  # deleted: nobody
    assert not topic.authorize(user=buyer, key="not-a-uuid")
    with pytest.raises(ApplicationError) as refused:
        topic.snapshot(user=buyer, key=str(hidden.pk))
    assert refused.value.code == "forbidden"


def test_changes_of_a_hidden_product_publish_nothing_but_unavailable():
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor, is_active=False)
    services.product_update(user=vendor.owner, product_id=product.pk, price="99.00")
    services.product_rating_apply(product_id=product.pk, add=[5])
    assert [t for t, _ in topic_events(product)] == ["product.unavailable"]
    assert topic_events(product)[0][1]["reason"] == "deactivated"


def test_low_stock_follows_the_store_threshold():
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor, stock=8)
    buyer = UserFactory()
    assert client_for(buyer).get(f"/api/v1/products/{product.pk}/").json()["low_stock"] is False  # default 5
    CatalogSettings.objects.create(vendor=vendor, low_stock_threshold=10)
    assert client_for(buyer).get(f"/api/v1/products/{product.pk}/").json()["low_stock"] is True
    services.products_adjust_stock(changes={product.pk: -8}, reason="order")
    body = client_for(buyer).get(f"/api/v1/products/{product.pk}/").json()
    assert (body["stock"], body["in_stock"], body["low_stock"]) == (0, False, False)  # sold out is not "low"


def test_rating_aggregate_arithmetic_and_refusals(product):
    services.product_rating_apply(product_id=product.pk, add=[5, 5, 4, 2])
    services.product_rating_apply(product_id=product.pk, remove=[2])
    product.refresh_from_db()
    assert (product.rating_count, product.rating_sum, product.rating_distribution) == (3, 14, [0, 0, 0, 1, 2])
    with pytest.raises(Conflict) as underflow:
        services.product_rating_apply(product_id=product.pk, remove=[1])
    assert underflow.value.code == "rating_underflow"
    with pytest.raises(ApplicationError):
        services.product_rating_apply(product_id=product.pk, add=[6])
    with pytest.raises(ApplicationError):
        services.product_rating_set(product_id=product.pk, distribution=[1, 2, 3])
    services.product_rating_set(product_id=product.pk, distribution=[1, 0, 0, 0, 1])
    product.refresh_from_db()
    assert (product.rating_count, product.rating_sum) == (2, 6)
    assert Product.objects.filter(pk=product.pk, rating_distribution=[1, 0, 0, 0, 1]).exists()
    ratings = [data["rating"] for type_, data in topic_events(product) if type_ == "product.rating_changed"]
    assert ratings[-1] == {"average": "3.00", "count": 2, "distribution": [1, 0, 0, 0, 1]}
    assert len(ratings) == 3  # the refused calls published nothing
