"""The REST cart: lines, codes, versions and one cart.updated outbox event per change."""

import uuid
from decimal import Decimal

import pytest

from commerce.cart.models import Cart, CartItem
from commerce.stores.models import VendorStatus
from realtime.models import OutboxEvent
from tests.commerce.conftest import cart_events
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, ProductImageFactory, VendorFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


def add(client, product, quantity=1, **extra):
    return client.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": quantity}, format="json", **extra)


def test_empty_cart_for_new_user(user_client, user):
    body = user_client.get("/api/v1/cart/").json()
    assert body["lines"] == [] and body["total"] == "0.00" and body["item_count"] == 0 and body["version"] == 0
    assert Cart.objects.get(user=user).pk == uuid.UUID(body["id"])


def test_add_item_returns_cart_with_line_details(user_client, product):
    ProductImageFactory(product=product, url="/img/main.jpg", position=0)
    ProductImageFactory(product=product, url="/img/second.jpg", position=1)
    response = add(user_client, product, 2)
    assert response.status_code == 200, response.content
    body = response.json()
    (line,) = body["lines"]
    assert line["product"] == {
        "id": str(product.pk), "name": product.name, "sku": product.sku, "slug": product.slug,
        "vendor_id": str(product.vendor_id), "image": "/img/main.jpg",
    }
    assert line["unit_price"] == "12.50" and line["line_total"] == "25.00"
    assert line["quantity"] == 2 and line["available_stock"] == 5 and line["in_stock"] is True
    assert body["total"] == "25.00" and body["currency"] == "EUR" and body["item_count"] == 2
    assert body["version"] == 1


def test_adding_again_grows_the_existing_line(user_client, product):
    add(user_client, product, 2)
    body = add(user_client, product, 3).json()
    assert len(body["lines"]) == 1 and body["lines"][0]["quantity"] == 5 and body["version"] == 2


def test_quantity_above_stock_is_409_with_available_stock(user_client, user, product):
    response = add(user_client, product, 6)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["available_stock"] == 5
    assert "5" in body["detail"]
    assert not CartItem.objects.filter(cart__user=user).exists()
    assert cart_events(user) == []


def test_adding_that_would_exceed_stock_with_existing_line_is_409(user_client, product):
    add(user_client, product, 4)
    response = add(user_client, product, 2)
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"


@pytest.mark.parametrize("quantity", [0, -1, 1000, "2", 2.5, True, None])
def test_invalid_quantity_is_400(user_client, product, quantity):
    response = add(user_client, product, quantity)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert "quantity" in response.json()["fields"]


def test_line_above_999_is_refused(user_client):
    product = ProductFactory(stock=5000)
    add(user_client, product, 999)
    response = add(user_client, product, 1)
    assert response.status_code == 400
    assert response.json()["code"] == "quantity_limit"


def test_unknown_product_is_404_product_not_found(user_client):
    response = user_client.post("/api/v1/cart/items/", {"product_id": str(uuid.uuid4()), "quantity": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


def test_bad_product_id_is_400(user_client):
    response = user_client.post("/api/v1/cart/items/", {"product_id": "nope", "quantity": 1}, format="json")
    assert response.status_code == 400


def test_deleted_product_is_404_product_not_found(user_client):
    from django.utils import timezone

    product = ProductFactory(deleted_at=timezone.now())
    assert add(user_client, product).json()["code"] == "product_not_found"


@pytest.mark.parametrize("kind", ["inactive_product", "pending_vendor", "suspended_vendor"])
def test_unavailable_product_is_400_product_unavailable(user_client, kind):
    if kind == "inactive_product":
        product = ProductFactory(is_active=False)
    else:
        status = VendorStatus.PENDING if kind == "pending_vendor" else VendorStatus.SUSPENDED
        product = ProductFactory(vendor=VendorFactory(status=status))
    response = add(user_client, product)
    assert response.status_code == 400
    assert response.json()["code"] == "product_unavailable"


def test_currency_mismatch_is_409(user_client, product):
    add(user_client, product)
    usd = ProductFactory(currency="USD")
    response = add(user_client, usd)
    assert response.status_code == 409
    assert response.json()["code"] == "currency_mismatch"


def test_empty_cart_takes_the_currency_of_its_first_product(user_client):
    body = add(user_client, ProductFactory(currency="USD", price="3.00")).json()
    assert body["currency"] == "USD" and body["lines"][0]["currency"] == "USD"


def test_patch_sets_quantity_and_checks_stock(user_client, product):
    item_id = add(user_client, product, 1).json()["lines"][0]["id"]
    response = user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 4}, format="json")
    assert response.status_code == 200
    assert response.json()["lines"][0]["quantity"] == 4 and response.json()["version"] == 2
    too_many = user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 9}, format="json")
    assert too_many.status_code == 409 and too_many.json()["code"] == "insufficient_stock"
    zero = user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 0}, format="json")
    assert zero.status_code == 400


def test_patch_with_same_quantity_changes_nothing(user_client, user, product):
    item_id = add(user_client, product, 2).json()["lines"][0]["id"]
    body = user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 2}, format="json").json()
    assert body["version"] == 1
    assert len(cart_events(user)) == 1


def test_cannot_touch_another_users_line(user_client, product):
    other = client_for(UserFactory())
    item_id = add(other, product, 1).json()["lines"][0]["id"]
    assert user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 2}, format="json").status_code == 404
    response = user_client.delete(f"/api/v1/cart/items/{item_id}/")
    assert response.status_code == 404 and response.json()["code"] == "cart_item_not_found"
    assert CartItem.objects.get(pk=item_id).quantity == 1


def test_delete_line_and_clear(user_client, product):
    other = ProductFactory(vendor=product.vendor)
    item_id = add(user_client, product).json()["lines"][0]["id"]
    add(user_client, other)
    body = user_client.delete(f"/api/v1/cart/items/{item_id}/").json()
    assert [line["product"]["id"] for line in body["lines"]] == [str(other.pk)]
    assert body["version"] == 3
    cleared = user_client.delete("/api/v1/cart/")
    assert cleared.status_code == 200
    assert cleared.json()["lines"] == [] and cleared.json()["version"] == 4
    again = user_client.delete("/api/v1/cart/").json()
    assert again["version"] == 4  # clearing an empty cart is not a change


def test_each_change_bumps_version_by_one_and_writes_one_outbox_event(user_client, user, product):
    item_id = add(user_client, product, 1).json()["lines"][0]["id"]
    user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 3}, format="json")
    add(user_client, product, 9)  # refused: no change, no event
    user_client.delete(f"/api/v1/cart/items/{item_id}/")
    events = cart_events(user)
    assert [e.data["version"] for e in events] == [1, 2, 3]
    assert [len(e.data["lines"]) for e in events] == [1, 1, 0]
    assert events[1].data["lines"][0]["quantity"] == 3
    assert Cart.objects.get(user=user).version == 3


def test_event_data_equals_the_rest_response(user_client, user, product):
    body = add(user_client, product, 2).json()
    (event,) = cart_events(user)
    assert event.data == body


def test_price_change_publishes_cart_updated_for_every_cart_holding_the_product(vendor_client, product):
    users = UserFactory.create_batch(3)
    for u in users:
        assert add(client_for(u), product, 1).status_code == 200
    bystander_user = UserFactory()
    add(client_for(bystander_user), ProductFactory())
    before = OutboxEvent.objects.count()

    response = vendor_client.patch(f"/api/v1/products/{product.pk}/", {"price": "15.00"}, format="json")
    assert response.status_code == 200
    for u in users:
        events = cart_events(u)
        assert [e.data["version"] for e in events] == [1, 2]
        assert events[-1].data["lines"][0]["unit_price"] == "15.00"
        assert events[-1].data["total"] == "15.00"
        assert Cart.objects.get(user=u).version == 2
    assert len(cart_events(bystander_user)) == 1
    assert OutboxEvent.objects.count() == before + 4  # the three carts and the product page (product.updated)


def test_stock_drop_shows_line_out_of_stock(vendor_client, user_client, user, product):
    add(user_client, product, 4)
    vendor_client.patch(f"/api/v1/products/{product.pk}/", {"stock": 2}, format="json")
    last = cart_events(user)[-1].data
    assert last["lines"][0]["available_stock"] == 2 and last["lines"][0]["in_stock"] is False
    assert last["version"] == 2


def test_product_deletion_and_vendor_suspension_refresh_carts(vendor_client, admin_client, user_client, user, product):
    add(user_client, product, 1)
    admin_client.post(f"/api/v1/vendors/{product.vendor_id}/suspend/")
    last = cart_events(user)[-1].data
    assert last["version"] == 2 and last["lines"][0]["available"] is False and last["lines"][0]["in_stock"] is False
    admin_client.post(f"/api/v1/vendors/{product.vendor_id}/activate/")
    assert cart_events(user)[-1].data["lines"][0]["available"] is True
    vendor_client.delete(f"/api/v1/products/{product.pk}/")
    assert cart_events(user)[-1].data["version"] == 4
    assert cart_events(user)[-1].data["lines"][0]["available"] is False


def test_description_change_does_not_touch_carts(vendor_client, user_client, user, product):
    add(user_client, product, 1)
    vendor_client.patch(f"/api/v1/products/{product.pk}/", {"description": "new text"}, format="json")
    assert len(cart_events(user)) == 1


def test_unavailable_line_can_be_removed_but_not_raised(vendor_client, user_client, product):
    item_id = add(user_client, product, 1).json()["lines"][0]["id"]
    vendor_client.patch(f"/api/v1/products/{product.pk}/", {"is_active": False}, format="json")
    raised = user_client.patch(f"/api/v1/cart/items/{item_id}/", {"quantity": 2}, format="json")
    assert raised.status_code == 400 and raised.json()["code"] == "product_unavailable"
    assert user_client.delete(f"/api/v1/cart/items/{item_id}/").status_code == 200


def test_totals_use_decimal_cents(user_client):
    a = ProductFactory(price="0.10", stock=100)
    b = ProductFactory(price="0.20", stock=100, vendor=a.vendor)
    add(user_client, a, 3)
    body = add(user_client, b, 1).json()
    assert body["total"] == "0.50"
    assert Decimal(body["total"]) == Decimal("0.50")


# --- anonymous cart ---------------------------------------------------------------------------


def test_anonymous_cart_is_created_and_returned_in_header(api_client, product):
    response = add(api_client, product, 2)
    assert response.status_code == 200, response.content
    cart_id = response["X-Cart-Id"]
    assert response.json()["id"] == cart_id
    cart = Cart.objects.get(pk=cart_id)
    assert cart.user is None and cart.version == 1
    again = add(api_client, product, 1, HTTP_X_CART_ID=cart_id).json()
    assert again["id"] == cart_id and again["lines"][0]["quantity"] == 3
    assert api_client.get("/api/v1/cart/", HTTP_X_CART_ID=cart_id).json()["item_count"] == 3
    assert not OutboxEvent.objects.filter(topic__startswith="cart:").exists()  # no topic for anonymous carts


def test_malformed_cart_header_is_400(api_client):
    response = api_client.get("/api/v1/cart/", HTTP_X_CART_ID="not-a-uuid")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cart_id"


def test_anonymous_cannot_reach_a_users_cart_by_id(api_client, user_client, product):
    user_cart_id = add(user_client, product, 1).json()["id"]
    response = api_client.get("/api/v1/cart/", HTTP_X_CART_ID=user_cart_id)
    assert response.status_code == 200
    assert response.json()["id"] != user_cart_id and response.json()["lines"] == []


def test_unknown_anonymous_cart_id_gets_a_fresh_cart(api_client):
    stale = str(uuid.uuid4())
    body = api_client.get("/api/v1/cart/", HTTP_X_CART_ID=stale).json()
    assert body["id"] != stale and body["lines"] == []
