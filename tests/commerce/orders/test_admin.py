"""The admin shows orders and wallets (read-only) to staff."""

import pytest

from tests.factories.commerce import ProductFactory
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet

pytestmark = pytest.mark.django_db


def test_admin_pages_render_orders_and_wallets(admin_user, client):
    buyer = buyer_with_cart({ProductFactory(stock=2): 1})
    order = checkout_for(buyer=buyer).orders.get()
    wallet = funded_wallet(buyer, "5.00")
    client.force_login(admin_user)
    for url in ("/admin/commerce/order/", f"/admin/commerce/order/{order.pk}/change/", "/admin/commerce/wallet/",
                f"/admin/commerce/wallet/{wallet.pk}/change/", "/admin/commerce/payment/", "/admin/core/idempotencykey/"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert order.number.encode() in client.get("/admin/commerce/order/").content
    assert client.get("/admin/commerce/order/add/").status_code == 403
