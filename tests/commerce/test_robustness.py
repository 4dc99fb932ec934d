"""Hostile or malformed client input gets a 4xx with a code, never a 500."""

import pytest

from tests.conftest import client_for
from tests.factories.commerce import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/?offset=1000000000000000000000000",
        "/api/v1/products/?limit=-5",
        "/api/v1/products/?search=a%00b",
        "/api/v1/products/?brand=100000000000000000000000",
        "/api/v1/products/?category=1e30",
        "/api/v1/products/?category=-1",
        "/api/v1/products/?attr=a:%00",
        "/api/v1/products/?attr=" + "&attr=".join(f"k{i}:v" for i in range(11)),
        "/api/v1/products/?vendor=%00",
        "/api/v1/products/?ordering=%00",
        "/api/v1/products/?min_price=1e400",
        "/api/v1/products/?max_price=NaN",
        "/api/v1/vendors/?status=bogus",
    ],
)
def test_catalogue_query_junk_is_not_a_server_error(api_client, url):
    ProductFactory()
    response = api_client.get(url)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["code"]


@pytest.mark.parametrize(
    "body",
    [
        {"category_id": 10**30},
        {"brand_id": 10**30},
        {"attributes": {"a": "x\u0000y"}},
        {"attributes": {"a\u0000": "x"}},
        {"attributes": {"a": 10**400}},
        {"attributes": {"": 1}},
        {"attributes": {f"k{i}": i for i in range(51)}},
        {"images": [{"url": "x", "position": 10**40}]},
        {"images": "nope"},
        {"images": [{"position": 1}]},
        {"price": 1e308},
        {"stock": 10**30},
        {"name": "x" * 201},
        {"sku": ""},
    ],
)
def test_product_patch_junk_is_400(body):
    product = ProductFactory()
    response = client_for(product.vendor.owner).patch(f"/api/v1/products/{product.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"


def test_broken_json_is_400(vendor_client, product):
    response = vendor_client.patch(f"/api/v1/products/{product.pk}/", b"{bad json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("body", [[1, 2], {"product_id": None, "quantity": 1}, {"quantity": 10**40}, "text"])
def test_cart_body_junk_is_400(api_client, body):
    response = api_client.post("/api/v1/cart/items/", body, format="json")
    assert response.status_code == 400, response.content
