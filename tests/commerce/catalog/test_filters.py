"""Catalogue search, filters, ordering and pagination."""

import pytest

from commerce.catalog.services import product_rating_set
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {p["id"] for p in response.json()["results"]}


def test_category_filter_includes_descendants(api_client):
    engine = CategoryFactory(name="Engine")
    filters = CategoryFactory(name="Filters", parent=engine)
    oil = CategoryFactory(name="Oil filters", parent=filters)
    brakes = CategoryFactory(name="Brakes")
    a = ProductFactory(category=oil)
    b = ProductFactory(category=filters)
    c = ProductFactory(category=engine)
    ProductFactory(category=brakes)
    assert ids(api_client.get(f"/api/v1/products/?category={engine.pk}")) == {str(a.pk), str(b.pk), str(c.pk)}
    assert ids(api_client.get(f"/api/v1/products/?category={filters.pk}")) == {str(a.pk), str(b.pk)}
    assert ids(api_client.get(f"/api/v1/products/?category={oil.pk}")) == {str(a.pk)}
    assert ids(api_client.get("/api/v1/products/?category=987654")) == set()


def test_price_range_is_inclusive(api_client):
    cheap = ProductFactory(price="5.00")
    mid = ProductFactory(price="10.00")
    dear = ProductFactory(price="20.01")
    assert ids(api_client.get("/api/v1/products/?min_price=5&max_price=20")) == {str(cheap.pk), str(mid.pk)}
    assert ids(api_client.get("/api/v1/products/?min_price=10.00")) == {str(mid.pk), str(dear.pk)}
    assert ids(api_client.get("/api/v1/products/?max_price=4.99")) == set()


def test_bad_price_filter_is_400(api_client):
    response = api_client.get("/api/v1/products/?min_price=abc")
    assert response.status_code == 400
    assert "min_price" in response.json()["fields"]


def test_in_stock_filter(api_client):
    stocked = ProductFactory(stock=3)
    empty = ProductFactory(stock=0)
    assert ids(api_client.get("/api/v1/products/?in_stock=true")) == {str(stocked.pk)}
    assert ids(api_client.get("/api/v1/products/?in_stock=false")) == {str(empty.pk)}


def test_attribute_filter_matches_strings_numbers_and_list_elements(api_client):
    red = ProductFactory(attributes={"color": "red", "fits": ["VW Golf VII", "Audi A3"], "height_mm": 75})
    blue = ProductFactory(attributes={"color": "blue", "fits": ["Audi A3"], "height_mm": 80})
    assert ids(api_client.get("/api/v1/products/?attr=color:red")) == {str(red.pk)}
    assert ids(api_client.get("/api/v1/products/", {"attr": "fits:VW Golf VII"})) == {str(red.pk)}
    assert ids(api_client.get("/api/v1/products/?attr=height_mm:75")) == {str(red.pk)}
    assert len(ids(api_client.get("/api/v1/products/?attr=fits:Audi A3"))) == 2
    # repeated attr parameters must all match
    assert ids(api_client.get("/api/v1/products/?attr=fits:Audi A3&attr=color:blue")) == {str(blue.pk)}
    assert ids(api_client.get("/api/v1/products/?attr=color:red&attr=height_mm:80")) == set()


def test_malformed_attribute_filter_is_400(api_client):
    response = api_client.get("/api/v1/products/?attr=nocolon")
    assert response.status_code == 400
    assert response.json()["fields"]["attr"]


def test_search_by_sku_and_name(api_client):
    target = ProductFactory(sku="BOSCH-0451", name="Oil filter")
    ProductFactory(sku="NGK-1", name="Spark plug")
    assert ids(api_client.get("/api/v1/products/?search=bosch-04")) == {str(target.pk)}
    assert ids(api_client.get("/api/v1/products/?search=oil")) == {str(target.pk)}


def test_vendor_filter(api_client):
    vendor = VendorFactory()
    own = ProductFactory(vendor=vendor)
    ProductFactory()
    assert ids(api_client.get(f"/api/v1/products/?vendor={vendor.pk}")) == {str(own.pk)}
    assert api_client.get("/api/v1/products/?vendor=not-a-uuid").status_code == 400


def test_ordering_by_price_and_name(api_client):
    b = ProductFactory(price="20.00", name="B")
    a = ProductFactory(price="30.00", name="A")
    c = ProductFactory(price="10.00", name="C")
    by_price = [p["id"] for p in api_client.get("/api/v1/products/?ordering=price").json()["results"]]
    assert by_price == [str(c.pk), str(b.pk), str(a.pk)]
    by_price_desc = [p["id"] for p in api_client.get("/api/v1/products/?ordering=-price").json()["results"]]
    assert by_price_desc == [str(a.pk), str(b.pk), str(c.pk)]
    by_name = [p["id"] for p in api_client.get("/api/v1/products/?ordering=name").json()["results"]]
    assert by_name == [str(a.pk), str(b.pk), str(c.pk)]


def test_limit_offset_pagination_caps_at_200(api_client):
    vendor = VendorFactory()
    category = CategoryFactory()
    for _ in range(3):
        ProductFactory(vendor=vendor, category=category)
    page = api_client.get("/api/v1/products/?limit=2&offset=0").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    rest = api_client.get("/api/v1/products/?limit=2&offset=2").json()
    assert len(rest["results"]) == 1
    assert {p["id"] for p in page["results"]}.isdisjoint({p["id"] for p in rest["results"]})
    assert api_client.get("/api/v1/products/?limit=100000").status_code == 200


def test_filter_and_order_by_rating_with_unrated_products_last(api_client):
    vendor = VendorFactory()
    great, good, also_good, unrated = (ProductFactory(vendor=vendor, name=n) for n in ("great", "good", "also", "none"))
    product_rating_set(product_id=great.pk, distribution=[0, 0, 0, 0, 2])  # 5.00
    product_rating_set(product_id=good.pk, distribution=[0, 0, 0, 2, 0])  # 4.00 (2 reviews)
    product_rating_set(product_id=also_good.pk, distribution=[0, 0, 0, 1, 0])  # 4.00 (1 review)
    client = api_client

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/products/?vendor={vendor.pk}&{query}")
        assert response.status_code == 200, response.json()
        return [p["name"] for p in response.json()["results"]]

    assert names("ordering=-rating") == ["great", "good", "also", "none"]
    assert names("ordering=rating") == ["good", "also", "great", "none"]
    assert names("min_rating=4.5") == ["great"]
    assert sorted(names("min_rating=4")) == ["also", "good", "great"]
    assert client.get("/api/v1/products/?min_rating=9").status_code == 400
