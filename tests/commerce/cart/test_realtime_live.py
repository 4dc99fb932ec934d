"""Live cart sync over real sockets on a real Daphne process: REST and socket commands change the
same cart, and every device of the user sees each change once, with the right version."""

from decimal import Decimal

import pytest

from tests.conftest import client_for, tokens_for
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory
from tests.live import WSClient

pytestmark = pytest.mark.live


def device(live, user) -> WSClient:
    client = WSClient(live.ws_url)
    client.auth(tokens_for(user)["access"])
    return client


def subscribed(live, user) -> tuple[WSClient, dict]:
    client = device(live, user)
    reply = client.request("subscribe", topic=f"cart:{user.pk}")
    assert reply["status"] == "ok", reply
    return client, reply["data"]


def test_two_devices_get_cart_updated_with_the_right_version_after_a_rest_change(live):
    buyer = UserFactory()
    product = ProductFactory(stock=5, price=Decimal("12.50"))
    phone, snap = subscribed(live, buyer)
    tablet, _ = subscribed(live, buyer)
    assert snap["recovered"] is False and snap["snapshot"]["lines"] == []
    response = client_for(buyer).post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 2}, format="json")
    assert response.status_code in (200, 201), response.content
    for dev in (phone, tablet):
        event = dev.next_event(f"cart:{buyer.pk}", "cart.updated")
        assert event["data"]["version"] == response.json()["version"] == snap["snapshot"]["version"] + 1
        assert event["data"]["lines"][0]["quantity"] == 2
        assert event["data"]["total"] == "25.00"


def test_socket_command_updates_other_device_and_event_equals_fresh_rest_snapshot(live):
    buyer = UserFactory()
    product = ProductFactory(stock=5, price=Decimal("3.20"))
    phone, _ = subscribed(live, buyer)
    tablet, _ = subscribed(live, buyer)
    reply = phone.request("command", topic=f"cart:{buyer.pk}", name="add_item",
                          data={"product_id": str(product.pk), "quantity": 3})
    assert reply["status"] == "ok", reply
    event = tablet.next_event(f"cart:{buyer.pk}", "cart.updated")
    fresh = client_for(buyer).get("/api/v1/cart/").json()
    assert event["data"] == fresh == reply["data"]
    # The sender's own device receives the event too (it may already have applied the reply).
    assert phone.next_event(f"cart:{buyer.pk}", "cart.updated")["data"]["version"] == fresh["version"]


def test_every_change_arrives_once_in_order_with_consecutive_seq(live):
    buyer = UserFactory()
    product = ProductFactory(stock=50)
    phone, snap = subscribed(live, buyer)
    api = client_for(buyer)
    item = api.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 1}, format="json").json()
    line_id = item["lines"][0]["id"]
    for quantity in (2, 3, 4, 5):
        assert api.patch(f"/api/v1/cart/items/{line_id}/", {"quantity": quantity}, format="json").status_code == 200
    events = [phone.next_event(f"cart:{buyer.pk}", "cart.updated") for _ in range(5)]
    assert [e["seq"] for e in events] == list(range(snap["seq"] + 1, snap["seq"] + 6))
    assert [e["data"]["lines"][0]["quantity"] for e in events] == [1, 2, 3, 4, 5]
    versions = [e["data"]["version"] for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 5


def test_refused_command_replies_with_code_and_changes_nothing(live):
    buyer = UserFactory()
    product = ProductFactory(stock=2)
    phone, snap = subscribed(live, buyer)
    reply = phone.request("command", topic=f"cart:{buyer.pk}", name="add_item",
                          data={"product_id": str(product.pk), "quantity": 3})
    assert reply["status"] == "error" and reply["error"]["code"] == "insufficient_stock"
    bad = phone.request("command", topic=f"cart:{buyer.pk}", name="add_item", data={"product_id": "nope", "quantity": "x"})
    assert bad["status"] == "error" and bad["error"]["code"] in ("invalid", "product_not_found")
    assert client_for(buyer).get("/api/v1/cart/").json()["version"] == snap["snapshot"]["version"]
    with pytest.raises(TimeoutError):
        phone.next_event(f"cart:{buyer.pk}", timeout=0.7)


def test_another_users_cart_cannot_be_watched_or_changed(live):
    alice, mallory = UserFactory(), UserFactory()
    product = ProductFactory(stock=5)
    intruder = device(live, mallory)
    assert intruder.request("subscribe", topic=f"cart:{alice.pk}")["error"]["code"] == "forbidden"
    reply = intruder.request("command", topic=f"cart:{alice.pk}", name="add_item",
                             data={"product_id": str(product.pk), "quantity": 1})
    assert reply["error"]["code"] == "forbidden"
    assert client_for(alice).get("/api/v1/cart/").json()["lines"] == []


def test_vendor_price_change_reaches_every_cart_holding_the_product(live):
    buyer_a, buyer_b = UserFactory(), UserFactory()
    product = ProductFactory(stock=5, price=Decimal("10.00"))
    for buyer in (buyer_a, buyer_b):
        client_for(buyer).post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 1}, format="json")
    watchers = {b.pk: subscribed(live, b)[0] for b in (buyer_a, buyer_b)}
    response = client_for(product.vendor.owner).patch(f"/api/v1/products/{product.pk}/", {"price": "8.00"}, format="json")
    assert response.status_code == 200, response.content
    for buyer in (buyer_a, buyer_b):
        event = watchers[buyer.pk].next_event(f"cart:{buyer.pk}", "cart.updated")
        assert event["data"]["lines"][0]["unit_price"] == "8.00"
        assert event["data"]["total"] == "8.00"
