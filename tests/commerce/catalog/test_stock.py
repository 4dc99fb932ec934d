"""Stock adjustments other rooms and apps call (checkout, reservations, auctions), and who may
edit a product."""

import pytest

from commerce.cart.services import cart_add_item
from commerce.catalog.models import Product, ProductStockChange
from commerce.catalog.services import products_adjust_stock
from commerce.stores.models import VendorStatus
from core.exceptions import ApplicationError
from tests.commerce.conftest import cart_events
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


def test_adjust_stock_is_all_or_nothing(user):
    a = ProductFactory(stock=5)
    b = ProductFactory(stock=1, vendor=a.vendor)
    with pytest.raises(ApplicationError) as info:
        products_adjust_stock(changes={a.pk: -2, b.pk: -2}, reason="order")
    assert info.value.code == "insufficient_stock"
    assert info.value.extra == {"product_id": str(b.pk), "available_stock": 1}
    assert Product.objects.get(pk=a.pk).stock == 5
    assert not ProductStockChange.objects.exists()


def test_adjust_stock_records_history_and_refreshes_carts(user):
    product = ProductFactory(stock=5)
    cart_add_item(user=user, product_id=product.pk, quantity=1)
    actor = UserFactory()
    products_adjust_stock(changes={product.pk: -3}, reason="order", actor=actor)
    product.refresh_from_db()
    assert product.stock == 2
    change = ProductStockChange.objects.get(product=product)
    assert (change.old_stock, change.new_stock, change.reason, change.changed_by) == (5, 2, "order", actor)
    last = cart_events(user)[-1].data
    assert last["version"] == 2 and last["lines"][0]["available_stock"] == 2


def test_staff_of_suspended_vendor_cannot_edit_products():
    vendor = VendorFactory(status=VendorStatus.SUSPENDED)
    product = ProductFactory(vendor=vendor)
    response = client_for(vendor.owner).patch(f"/api/v1/products/{product.pk}/", {"stock": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_vendor"
