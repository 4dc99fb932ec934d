"""Fixtures of the commerce tests: an active vendor with its staff client, products, helpers."""

import pytest

from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory


@pytest.fixture
def vendor(db):
    return VendorFactory()


@pytest.fixture
def vendor_client(vendor):
    return client_for(vendor.owner)


@pytest.fixture
def category(db):
    return CategoryFactory()


@pytest.fixture
def product(vendor, category):
    return ProductFactory(vendor=vendor, category=category, stock=5, price="12.50")


def cart_events(user):
    """The ``cart.updated`` outbox rows of ``user``'s topic, oldest first."""
    return list(OutboxEvent.objects.filter(topic=f"cart:{user.pk}", type="cart.updated").order_by("id"))
