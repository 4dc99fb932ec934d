"""Catalogue permissions, product writes, soft delete and price/stock history."""

from decimal import Decimal

import pytest

from commerce.catalog.models import Product, ProductPriceChange, ProductStockChange
from commerce.stores.models import VendorStatus
from tests.conftest import client_for
from tests.factories.commerce import BrandFactory, CategoryFactory, ProductFactory, VendorFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


def _payload(category, **over):
    data = {
        "category_id": category.pk,
        "name": "Oil filter W 712",
        "sku": "OF-712",
        "price": "8.90",
        "currency": "EUR",
        "stock": 40,
        "attributes": {"thread": "M20x1.5", "fits": ["VW Golf VII"], "height_mm": 75},
        "images": [{"url": "/media/of712.jpg"}],
    }
    data.update(over)
    return data


def test_anonymous_can_read_catalogue_and_product(api_client, product):
    listing = api_client.get("/api/v1/products/")
    assert listing.status_code == 200
    assert [p["id"] for p in listing.json()["results"]] == [str(product.pk)]
    detail = api_client.get(f"/api/v1/products/{product.pk}/").json()
    assert detail["price"] == "12.50"
    assert detail["currency"] == "EUR"
    assert detail["vendor"]["id"] == str(product.vendor_id)


def test_vendor_creates_product_with_history_rows(vendor_client, vendor, category):
    brand = BrandFactory()
    response = vendor_client.post("/api/v1/products/", _payload(category, brand_id=brand.pk), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["vendor"]["id"] == str(vendor.pk)
    assert body["price"] == "8.90"
    assert body["brand"]["id"] == brand.pk
    assert body["images"][0]["url"] == "/media/of712.jpg"
    assert body["slug"] == "oil-filter-w-712"
    product = Product.objects.get(pk=body["id"])
    assert product.stock == 40
    assert ProductStockChange.objects.filter(product=product, old_stock=0, new_stock=40).exists()
    assert ProductPriceChange.objects.filter(product=product, new_price=Decimal("8.90")).exists()


def test_non_vendor_cannot_create_product(user_client, category):
    response = user_client.post("/api/v1/products/", _payload(category), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_vendor"
    assert not Product.objects.exists()


def test_staff_of_pending_vendor_cannot_create_product(category):
    pending = VendorFactory(status=VendorStatus.PENDING)
    response = client_for(pending.owner).post("/api/v1/products/", _payload(category), format="json")
    assert response.status_code == 403


def test_anonymous_cannot_create_product(api_client, category):
    assert api_client.post("/api/v1/products/", _payload(category), format="json").status_code == 401


def test_vendor_cannot_create_for_another_vendor(vendor_client, category):
    other = VendorFactory()
    response = vendor_client.post("/api/v1/products/", _payload(category, vendor_id=str(other.pk)), format="json")
    assert response.status_code == 403
    assert not Product.objects.exists()


def test_duplicate_sku_in_same_vendor_is_409(vendor_client, product, category):
    response = vendor_client.post("/api/v1/products/", _payload(category, sku=product.sku), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "sku_taken"


def test_same_sku_in_another_vendor_is_fine(vendor_client, category):
    ProductFactory(sku="OF-712")
    assert vendor_client.post("/api/v1/products/", _payload(category), format="json").status_code == 201


@pytest.mark.parametrize(
    "override,field",
    [
        ({"price": "-1.00"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "99999999999.00"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": "3"}, "stock"),
        ({"currency": "eur"}, "currency"),
        ({"category_id": 999999}, "category_id"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"attributes": {"nested": {"a": 1}}}, "attributes"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_product_input_is_400_with_field(vendor_client, category, override, field):
    response = vendor_client.post("/api/v1/products/", _payload(category, **override), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_vendor_patches_price_and_stock_and_history_records_who(vendor_client, vendor, product):
    response = vendor_client.patch(f"/api/v1/products/{product.pk}/", {"price": "11.00", "stock": 2}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["price"] == "11.00"
    change = ProductPriceChange.objects.get(product=product)
    assert (change.old_price, change.new_price, change.changed_by) == (Decimal("12.50"), Decimal("11.00"), vendor.owner)
    stock = ProductStockChange.objects.get(product=product)
    assert (stock.old_stock, stock.new_stock, stock.reason) == (5, 2, "vendor_update")


def test_vendor_cannot_edit_another_vendors_product(vendor_client):
    foreign = ProductFactory(price="5.00")
    response = vendor_client.patch(f"/api/v1/products/{foreign.pk}/", {"price": "1.00"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    foreign.refresh_from_db()
    assert foreign.price == Decimal("5.00")
    assert vendor_client.delete(f"/api/v1/products/{foreign.pk}/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.deleted_at is None


def test_non_vendor_cannot_edit_product(user_client, product):
    response = user_client.patch(f"/api/v1/products/{product.pk}/", {"price": "1.00"}, format="json")
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.price == Decimal("12.50")


def test_currency_cannot_change(vendor_client, product):
    response = vendor_client.patch(f"/api/v1/products/{product.pk}/", {"currency": "USD"}, format="json")
    assert response.status_code == 400
    assert vendor_client.patch(f"/api/v1/products/{product.pk}/", {"currency": "EUR"}, format="json").status_code == 200


def test_soft_delete_hides_product_and_frees_sku(vendor_client, api_client, product, category):
    assert vendor_client.delete(f"/api/v1/products/{product.pk}/").status_code == 204
    product.refresh_from_db()
    assert product.deleted_at is not None
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 404
    assert vendor_client.get(f"/api/v1/products/{product.pk}/").status_code == 404
    assert api_client.get("/api/v1/products/").json()["count"] == 0
    assert vendor_client.post("/api/v1/products/", _payload(category, sku=product.sku), format="json").status_code == 201


def test_inactive_product_hidden_publicly_but_visible_to_its_vendor(vendor_client, api_client, vendor):
    hidden = ProductFactory(vendor=vendor, is_active=False)
    assert api_client.get(f"/api/v1/products/{hidden.pk}/").status_code == 404
    assert vendor_client.get(f"/api/v1/products/{hidden.pk}/").status_code == 200
    mine = vendor_client.get("/api/v1/products/?mine=true").json()["results"]
    assert [p["id"] for p in mine] == [str(hidden.pk)]
    assert vendor_client.get("/api/v1/products/").json()["count"] == 0


def test_suspended_vendors_products_are_hidden(api_client):
    ProductFactory(vendor=VendorFactory(status=VendorStatus.SUSPENDED))
    visible = ProductFactory()
    ids = [p["id"] for p in api_client.get("/api/v1/products/").json()["results"]]
    assert ids == [str(visible.pk)]


def test_categories_and_brands_are_public(api_client):
    root = CategoryFactory(name="Engine", slug="engine")
    child = CategoryFactory(name="Filters", slug="filters", parent=root)
    BrandFactory(name="Bosch", slug="bosch")
    cats = {c["id"]: c for c in api_client.get("/api/v1/categories/").json()}
    assert cats[child.pk]["parent_id"] == root.pk
    assert cats[child.pk]["depth"] == 1
    assert cats[root.pk]["depth"] == 0
    assert [b["slug"] for b in api_client.get("/api/v1/brands/").json()] == ["bosch"]


def test_malformed_product_id_is_404_not_500(api_client):
    assert api_client.get("/api/v1/products/not-a-uuid/").status_code == 404


def test_unknown_fields_cannot_sneak_in_via_service(vendor, product):
    from commerce.catalog.services import product_update
    from core.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        product_update(user=vendor.owner, product_id=product.pk, vendor_id=UserFactory().pk)
