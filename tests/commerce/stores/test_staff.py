"""A store's staff: the owner (or an admin) adds people who then act for the store."""

import pytest

from commerce.stores.services import vendor_staff_add
from core.exceptions import ApplicationError
from core.models import Role
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


def test_owner_adds_staff_who_can_then_manage_products():
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor)
    clerk = UserFactory(roles=[Role.BUYER])
    assert client_for(clerk).patch(f"/api/v1/products/{product.pk}/", {"stock": 1}, format="json").status_code == 403
    vendor_staff_add(vendor_id=vendor.pk, user=clerk, actor=vendor.owner)
    clerk.refresh_from_db()
    assert Role.VENDOR in clerk.roles
    assert client_for(clerk).patch(f"/api/v1/products/{product.pk}/", {"stock": 1}, format="json").status_code == 200


def test_only_owner_or_admin_adds_staff():
    vendor = VendorFactory()
    with pytest.raises(ApplicationError) as info:
        vendor_staff_add(vendor_id=vendor.pk, user=UserFactory(), actor=UserFactory())
    assert info.value.code == "forbidden"
