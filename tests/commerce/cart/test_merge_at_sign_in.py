"""Merging an anonymous cart into the user's cart at sign-in."""

import uuid
from types import SimpleNamespace

import pytest

from commerce.cart.models import Cart, CartItem
from commerce.cart.receivers import merge_anonymous_cart_on_sign_in
from commerce.cart.services import cart_add_item, cart_get_or_create_anonymous, cart_merge_anonymous
from tests.commerce.conftest import cart_events
from tests.factories.commerce import ProductFactory

pytestmark = pytest.mark.django_db


def anon_cart_with(*lines):
    cart = cart_get_or_create_anonymous()
    for product, quantity in lines:
        cart_add_item(cart_id=cart.pk, product_id=product.pk, quantity=quantity)
    return cart


def quantities(user):
    return {i.product_id: i.quantity for i in CartItem.objects.filter(cart__user=user)}


def test_quantities_add_up_capped_at_stock_and_anonymous_cart_is_deleted(user):
    a = ProductFactory(stock=5)
    b = ProductFactory(stock=10, vendor=a.vendor)
    c = ProductFactory(stock=4, vendor=a.vendor)
    cart_add_item(user=user, product_id=a.pk, quantity=3)
    cart_add_item(user=user, product_id=c.pk, quantity=1)
    anon = anon_cart_with((a, 4), (b, 2))

    merged = cart_merge_anonymous(user=user, anonymous_cart_id=anon.pk)

    assert quantities(user) == {a.pk: 5, b.pk: 2, c.pk: 1}  # 3 + 4 capped at stock 5
    assert not Cart.objects.filter(pk=anon.pk).exists()
    assert merged.data["version"] == 3
    assert [e.data["version"] for e in cart_events(user)] == [1, 2, 3]


def test_merge_into_user_without_cart_creates_it(user):
    p = ProductFactory(stock=3)
    anon = anon_cart_with((p, 2))
    cart_merge_anonymous(user=user, anonymous_cart_id=str(anon.pk))
    assert quantities(user) == {p.pk: 2}


def test_unavailable_and_other_currency_lines_are_dropped(user):
    eur = ProductFactory(stock=3)
    cart_add_item(user=user, product_id=eur.pk, quantity=1)
    usd = ProductFactory(stock=3, currency="USD")
    gone = ProductFactory(stock=3)
    anon_usd = anon_cart_with((usd, 1))
    anon_gone = anon_cart_with((gone, 1))
    gone.is_active = False
    gone.save()
    cart_merge_anonymous(user=user, anonymous_cart_id=anon_usd.pk)
    cart_merge_anonymous(user=user, anonymous_cart_id=anon_gone.pk)
    assert quantities(user) == {eur.pk: 1}
    assert len(cart_events(user)) == 1  # nothing merged: no change, no event


def test_missing_malformed_or_user_owned_ids_change_nothing(user, product):
    cart_add_item(user=user, product_id=product.pk, quantity=1)
    other_users_cart = Cart.objects.create(user=ProductFactory().vendor.owner)
    for bad in [uuid.uuid4(), "garbage", None, other_users_cart.pk]:
        assert cart_merge_anonymous(user=user, anonymous_cart_id=bad).data["version"] == 1
    assert Cart.objects.filter(pk=other_users_cart.pk).exists()


def test_receiver_merges_the_cart_named_by_the_x_cart_id_header(user):
    p = ProductFactory(stock=3)
    anon = anon_cart_with((p, 2))
    request = SimpleNamespace(headers={"X-Cart-Id": str(anon.pk)}, data={})
    merge_anonymous_cart_on_sign_in(sender=None, user=user, request=request)
    assert quantities(user) == {p.pk: 2}


def test_receiver_reads_cart_id_from_body_and_ignores_requests_without_one(user):
    p = ProductFactory(stock=3)
    anon = anon_cart_with((p, 1))
    merge_anonymous_cart_on_sign_in(sender=None, user=user, request=SimpleNamespace(headers={}, data={}))
    assert quantities(user) == {}
    merge_anonymous_cart_on_sign_in(user=user, request=SimpleNamespace(headers={}, data={"cart_id": str(anon.pk)}))
    assert quantities(user) == {p.pk: 1}


def test_user_signed_in_signal_triggers_the_merge(user):
    signals = pytest.importorskip("core.signals")
    if not hasattr(signals, "user_signed_in"):
        pytest.skip("core.signals.user_signed_in not there yet")
    p = ProductFactory(stock=3)
    anon = anon_cart_with((p, 2))
    signals.user_signed_in.send(sender=type(user), user=user, request=SimpleNamespace(headers={"X-Cart-Id": str(anon.pk)}))
    assert quantities(user) == {p.pk: 2}


def test_signing_in_with_x_cart_id_merges_the_anonymous_cart(api_client, user):
    from django.urls import NoReverseMatch, reverse

    from tests.factories.core import PASSWORD

    try:
        url = reverse("auth-token")
    except NoReverseMatch:
        pytest.skip("sign-in endpoint not there yet")
    p = ProductFactory(stock=3)
    added = api_client.post("/api/v1/cart/items/", {"product_id": str(p.pk), "quantity": 2}, format="json")
    cart_id = added["X-Cart-Id"]
    response = api_client.post(url, {"email": user.email, "password": PASSWORD}, format="json", HTTP_X_CART_ID=cart_id)
    assert response.status_code == 200, response.content
    assert quantities(user) == {p.pk: 2}
    assert not Cart.objects.filter(pk=cart_id).exists()
