"""The ``vendor:<id>`` topic: staff only; the snapshot lists open orders; events follow orders."""

from __future__ import annotations

import pytest

from commerce.orders.realtime import VendorTopic
from commerce.payments import services as payments
from core.exceptions import Forbidden
from realtime.registry import get_topic
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import UserFactory
from tests.factories.orders import buyer_with_cart, checkout_for

pytestmark = pytest.mark.django_db


def test_only_the_stores_staff_may_subscribe():
    vendor = VendorFactory()
    topic = get_topic("vendor")
    assert isinstance(topic, VendorTopic)
    staff = VendorStaffFactory(vendor=vendor).user
    assert topic.authorize(user=vendor.owner, key=str(vendor.pk))
    assert topic.authorize(user=staff, key=str(vendor.pk))
    assert not topic.authorize(user=UserFactory(), key=str(vendor.pk))
    assert not topic.authorize(user=VendorFactory().owner, key=str(vendor.pk))
    assert not topic.authorize(user=vendor.owner, key="not-a-uuid")
    with pytest.raises(Forbidden):
        topic.snapshot(user=UserFactory(), key=str(vendor.pk))


def test_snapshot_counts_and_lists_open_orders():
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor, category=CategoryFactory(), stock=10)
    paid = checkout_for(buyer=buyer_with_cart({product: 1})).orders.get()
    payments.payment_create(user=paid.buyer, order_id=paid.id, method="card", card_token="tok_visa")
    checkout_for(buyer=buyer_with_cart({product: 2}))  # pending payment: not open yet
    snap = get_topic("vendor").snapshot(user=vendor.owner, key=str(vendor.pk))
    assert snap["vendor"]["id"] == str(vendor.pk)
    assert snap["counts"] == {"paid": 1, "pending_payment": 1}
    assert [o["id"] for o in snap["open_orders"]] == [str(paid.id)]
