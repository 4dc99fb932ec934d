"""The cart: topic, called directly (the live WebSocket tests live elsewhere)."""

import uuid

import pytest
from rest_framework.exceptions import ValidationError

from commerce.cart.models import Cart
from core.exceptions import ApplicationError, to_application_error
from realtime.registry import get_topic
from tests.commerce.conftest import cart_events
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def topic():
    t = get_topic("cart")
    assert t is not None, "commerce.cart.realtime must register the cart topic"
    return t


def run(topic, name, user, data):
    return topic.commands[name][0](user=user, key=str(user.pk), data=data)


def error_of(fn, *args):
    with pytest.raises(Exception) as info:
        fn(*args)
    err = to_application_error(info.value)
    assert err is not None, f"{info.value!r} is not a client error"
    return err


def test_only_the_owner_is_authorized(topic, user):
    assert topic.authorize(user=user, key=str(user.pk)) is True
    assert topic.authorize(user=UserFactory(), key=str(user.pk)) is False


def test_snapshot_is_the_cart_response(topic, user, product, user_client):
    user_client.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 2}, format="json")
    snap = topic.snapshot(user=user, key=str(user.pk))
    assert snap == user_client.get("/api/v1/cart/").json()
    assert snap["lines"][0]["quantity"] == 2


def test_commands_change_the_cart_and_publish_versioned_events(topic, user, product):
    added = run(topic, "add_item", user, {"product_id": str(product.pk), "quantity": 2})
    assert added["version"] == 1 and added["lines"][0]["quantity"] == 2
    item_id = added["lines"][0]["id"]
    by_item = run(topic, "set_quantity", user, {"item_id": item_id, "quantity": 3})
    assert by_item["version"] == 2 and by_item["lines"][0]["quantity"] == 3
    by_product = run(topic, "set_quantity", user, {"product_id": str(product.pk), "quantity": 1})
    assert by_product["version"] == 3 and by_product["lines"][0]["quantity"] == 1
    removed = run(topic, "remove_item", user, {"item_id": item_id})
    assert removed["lines"] == [] and removed["version"] == 4
    run(topic, "add_item", user, {"product_id": str(product.pk), "quantity": 1})
    cleared = run(topic, "clear", user, {})
    assert cleared["lines"] == [] and cleared["version"] == 6

    events = cart_events(user)
    assert [e.type for e in events] == ["cart.updated"] * 6
    assert [e.data["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1].data == cleared
    assert Cart.objects.get(user=user).version == 6


def test_set_quantity_by_product_id_adds_a_missing_line(topic, user, product):
    body = run(topic, "set_quantity", user, {"product_id": str(product.pk), "quantity": 2})
    assert body["lines"][0]["quantity"] == 2


def test_refusals_carry_the_rest_codes(topic, user, product):
    add = topic.commands["add_item"][0]
    key = str(user.pk)
    err = error_of(lambda: add(user=user, key=key, data={"product_id": str(product.pk), "quantity": 99}))
    assert (err.code, err.status, err.extra["available_stock"]) == ("insufficient_stock", 409, 5)
    err = error_of(lambda: add(user=user, key=key, data={"product_id": str(uuid.uuid4()), "quantity": 1}))
    assert (err.code, err.status) == ("product_not_found", 404)
    inactive = ProductFactory(is_active=False)
    err = error_of(lambda: add(user=user, key=key, data={"product_id": str(inactive.pk), "quantity": 1}))
    assert (err.code, err.status) == ("product_unavailable", 400)
    err = error_of(lambda: add(user=user, key=key, data={"product_id": str(product.pk), "quantity": 0}))
    assert (err.code, err.status) == ("invalid", 400) and "quantity" in err.fields
    err = error_of(lambda: add(user=user, key=key, data={"product_id": str(product.pk), "quantity": "1"}))
    assert err.code == "invalid"
    err = error_of(lambda: run(topic, "remove_item", user, {"item_id": str(uuid.uuid4())}))
    assert (err.code, err.status) == ("cart_item_not_found", 404)
    err = error_of(lambda: run(topic, "set_quantity", user, {"quantity": 1}))
    assert err.code == "invalid"
    assert cart_events(user) == []


def test_refusal_is_an_application_error_or_validation_error(topic, user, product):
    with pytest.raises(ApplicationError):
        run(topic, "add_item", user, {"product_id": str(product.pk), "quantity": 99})
    with pytest.raises(ValidationError):
        run(topic, "add_item", user, {"quantity": 1})


def test_command_with_someone_elses_key_is_forbidden(topic, user, product):
    intruder = UserFactory()
    with pytest.raises(ApplicationError) as info:
        topic.commands["add_item"][0](user=intruder, key=str(user.pk), data={"product_id": str(product.pk), "quantity": 1})
    assert info.value.code == "forbidden"
    assert not Cart.objects.filter(user=user, items__isnull=False).exists()


def test_non_object_data_is_a_validation_error(topic, user):
    with pytest.raises(ValidationError):
        run(topic, "add_item", user, ["not", "a", "dict"])
