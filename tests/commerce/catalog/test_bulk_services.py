"""``products_bulk_create`` / ``products_bulk_update`` (``commerce.catalog.services``): the
catalogue import's set-based writes refuse the wrong actor, a product of another store, a SKU
already taken and a bad value, all or nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commerce.catalog.models import Product, ProductPriceChange
from commerce.catalog.services import product_values_check, products_bulk_create, products_bulk_update
from commerce.stores.models import VendorStaffRole
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


def new(sku: str, category, **extra) -> dict:
    return {"sku": sku, "name": f"Part {sku}", "price": D("5.00"), "category_id": category.pk, **extra}


def test_only_the_stores_owners_and_managers_write_in_bulk():
    vendor, category = VendorFactory(), CategoryFactory()
    product = ProductFactory(vendor=vendor, price=D("10.00"))
    clerk = VendorStaffFactory(vendor=vendor, role=VendorStaffRole.STAFF).user
    for user, code in [(clerk, "role_forbidden"), (VendorFactory().owner, "not_vendor"), (UserFactory(), "not_vendor"),
                       (AdminFactory(), "not_vendor")]:
        with pytest.raises(Forbidden) as create:
            products_bulk_create(user=user, vendor_id=vendor.pk, rows=[new("X-1", category)])
        with pytest.raises(Forbidden) as update:
            products_bulk_update(user=user, vendor_id=vendor.pk, changes={product.pk: {"price": D("1.00")}})
        assert (create.value.code, update.value.code) == (code, code)
    manager = VendorStaffFactory(vendor=vendor, role=VendorStaffRole.MANAGER).user
    products_bulk_update(user=manager, vendor_id=vendor.pk, changes={product.pk: {"price": D("1.00")}})
    assert Product.objects.filter(vendor=vendor).count() == 1
    assert Product.objects.get(pk=product.pk).price == D("1.00")


def test_a_product_of_another_store_is_not_found_and_nothing_changes():
    vendor, other = VendorFactory(), VendorFactory()
    mine, theirs = ProductFactory(vendor=vendor), ProductFactory(vendor=other, price=D("10.00"))
    with pytest.raises(NotFound):
        products_bulk_update(user=vendor.owner, vendor_id=vendor.pk,
                             changes={mine.pk: {"price": D("2.00")}, theirs.pk: {"price": D("2.00")}})
    assert {p.price for p in Product.objects.all()} == {D("10.00")}
    assert not ProductPriceChange.objects.exists()


def test_a_taken_or_repeated_sku_or_a_bad_value_refuses_the_whole_batch():
    vendor, category = VendorFactory(), CategoryFactory()
    ProductFactory(vendor=vendor, sku="TAKEN")
    batches = [([new("A", category), new("TAKEN", category)], Conflict, "sku_taken"),
               ([new("A", category), new("A", category)], Conflict, "sku_taken"),
               ([new("A", category), new("B", category, price=D("-1"))], ApplicationError, "invalid"),
               ([new("A", category), new("B", category, category_id=category.pk + 999)], ApplicationError, "invalid"),
               ([new("A", category), new("B", category, currency="eur")], ApplicationError, "invalid")]
    for rows, error, code in batches:
        with pytest.raises(error) as exc:
            products_bulk_create(user=vendor.owner, vendor_id=vendor.pk, rows=rows)
        assert exc.value.code == code
    assert list(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == ["TAKEN"]


def test_values_are_checked_as_product_create_checks_them():
    assert product_values_check({"name": "  Disc ", "price": "12.5", "images": [{"url": "https://x/y.jpg"}]}) == {
        "name": "Disc", "price": D("12.50"), "images": [{"url": "https://x/y.jpg", "position": 0, "alt_text": ""}]}
    for values, field in [({"name": ""}, "name"), ({"price": 1.5}, "price"), ({"stock": -1}, "stock"),
                          ({"weight_g": 0}, "weight_g"), ({"tax_class": "luxury"}, "tax_class"),
                          ({"attributes": {"a:b": 1}}, "attributes"), ({"sku": "X"}, "sku")]:
        with pytest.raises(ApplicationError) as exc:
            product_values_check(values)
        assert list(exc.value.fields) == [field]
