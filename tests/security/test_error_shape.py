"""Floats are refused where the docs say so, and every 4xx is the project's JSON error shape
(issue 13, item 5; table row 16)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from auctions.models import Auction
from commerce.catalog.models import Product
from commerce.payments.models import WalletDeposit
from commerce.wallet.models import Wallet
from core import views
from tests.conftest import client_for
from tests.factories.auctions import bidder, live_auction
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory
from tests.factories.core import UserFactory
from tests.factories.orders import buyer_with_cart, funded_wallet, shipping_choice

pytestmark = pytest.mark.django_db


def key() -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"], body
    return body


# --- money: JSON numbers with a fraction are refused -----------------------------------------------


def test_a_deposit_of_json_number_12_5_is_refused_and_moves_no_money():
    """Row 16: `{"amount": 12.5}` was accepted (CharField turned it into "12.5"); now 400
    `invalid_amount` naming the field, no deposit, no balance. The string and an integer work."""
    client = client_for(UserFactory())
    body = assert_error(client.post("/api/v1/wallet/deposits/", {"amount": 12.5, "card_token": "tok_visa"}, format="json", **key()),
                        400, "invalid_amount")
    assert "amount" in body["fields"]
    assert not WalletDeposit.objects.exists() and not Wallet.objects.filter(balance__gt=0).exists()
    for good in ("12.50", 20):
        response = client.post("/api/v1/wallet/deposits/", {"amount": good, "card_token": "tok_visa"}, format="json", **key())
        assert response.status_code == 201, response.content
    assert client.get("/api/v1/wallet/").json()["balance"] == "32.50"


def test_a_refund_of_a_json_float_is_refused():
    """Row 16: the same rule for refunds (store or admin)."""
    product = ProductFactory(vendor=VendorFactory(), category=CategoryFactory(), price="15.00", stock=3)
    buyer = buyer_with_cart({product: 1})
    funded_wallet(buyer, "100.00")
    order_id = client_for(buyer).post("/api/v1/checkout/", {"shipping_methods": shipping_choice(buyer)}, format="json",
                                      **key()).json()["orders"][0]["id"]
    assert client_for(buyer).post(f"/api/v1/orders/{order_id}/payments/", {"method": "wallet"}, format="json", **key()).status_code == 201
    refund = client_for(product.vendor.owner).post(f"/api/v1/orders/{order_id}/refunds/", {"amount": 5.5}, format="json", **key())
    assert_error(refund, 400, "invalid_amount")


def test_auction_prices_and_bids_refuse_json_floats():
    """Row 16: an auction listed with `start_price: 10.5` and a bid of `max_amount: 12.5` are refused."""
    vendor = VendorFactory()
    ends = (timezone.now() + timedelta(hours=2)).isoformat()
    listing = client_for(vendor.owner).post("/api/v1/auctions/", {"title": "Carburettor", "start_price": 10.5, "ends_at": ends},
                                            format="json")
    assert_error(listing, 400, "invalid_amount")
    assert not Auction.objects.exists()
    auction = live_auction(vendor=vendor)
    bid = client_for(bidder()).post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": 12.5}, format="json")
    assert_error(bid, 400, "invalid_amount")


def test_a_product_price_sent_as_a_json_float_is_refused(settings):
    """Row 16: `price: 19.99` as a JSON number is refused for products too (the string is fine)."""
    vendor = VendorFactory()
    payload = {"category_id": CategoryFactory().pk, "name": "Oil filter", "sku": "OF-1", "price": 19.99, "stock": 5}
    body = assert_error(client_for(vendor.owner).post("/api/v1/products/", payload, format="json"), 400, "invalid")
    assert "price" in body["fields"] and not Product.objects.exists()
    ok = client_for(vendor.owner).post("/api/v1/products/", {**payload, "price": "19.99"}, format="json")
    assert ok.status_code == 201 and ok.json()["price"] == "19.99"


# --- malformed bodies and Django's own error pages ------------------------------------------------

DEPOSITS = "/api/v1/wallet/deposits/"


def many_fields(n: int) -> bytes:
    parts = [b'--xx\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(n)]
    return b"".join(parts) + b"--xx--\r\n"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        # Row 16: these answered Django's bare HTML "Bad Request (400)" page.
        (many_fields(1200), "multipart/form-data; boundary=xx", 400, "too_many_fields"),
        (b"a=1&" * 1100, "application/x-www-form-urlencoded", 400, "too_many_fields"),
        (b'{"amount": "' + b"9" * 3_000_000 + b'"}', "application/json", 413, "request_too_large"),
        # already JSON, kept so
        (b"garbage", "multipart/form-data", 400, "parse_error"),
        (b"garbage", "multipart/form-data; boundary=", 400, "parse_error"),
        (b"{bad json", "application/json", 400, "parse_error"),
        (b'{"amount": NaN}', "application/json", 400, "parse_error"),
        (b"\xff\xfe", "application/json", 400, "parse_error"),
        (b"<deposit/>", "text/xml", 415, "unsupported_media_type"),
    ],
    ids=["multipart-too-many-fields", "form-too-many-fields", "json-too-large", "multipart-no-boundary",
         "multipart-empty-boundary", "json-syntax", "json-nan", "json-not-utf8", "xml"],
)
def test_a_malformed_body_gets_the_json_error_shape(body, content_type, status, code):
    """Row 16: malformed or oversized bodies of every kind get `{"code", "detail"}`, never HTML."""
    response = client_for(UserFactory()).generic("POST", DEPOSITS, body, content_type=content_type, **key())
    assert_error(response, status, code)
    assert not WalletDeposit.objects.exists()


def test_a_multipart_upload_with_too_many_files_gets_json():
    """Row 16: the chat's multipart upload endpoint, with more files than Django allows."""
    parts = [b'--xx\r\nContent-Disposition: form-data; name="file"; filename="f%d.png"\r\nContent-Type: image/png\r\n\r\nx\r\n' % i
             for i in range(120)]
    response = client_for(UserFactory()).generic(
        "POST", f"/api/v1/chat/conversations/{uuid.uuid4()}/attachments/", b"".join(parts) + b"--xx--\r\n",
        content_type="multipart/form-data; boundary=xx",
    )
    assert_error(response, 400, "too_many_fields")


def test_a_disallowed_host_on_an_api_path_gets_json(client):
    """Row 16: DisallowedHost (raised by Django before any view) answers JSON under /api/, and
    Django's page elsewhere."""
    assert_error(client.get("/api/v1/products/", HTTP_HOST="evil.example"), 400, "bad_request")
    page = client.get("/admin/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_django_403_404_and_csrf_pages_are_json_under_api():
    """Row 16: the handlers Django calls outside DRF (handler403/404, CSRF_FAILURE_VIEW) give the
    JSON shape on /api/ paths (no non-DRF /api/ view raises them today, so they are called as
    Django would)."""
    rf = RequestFactory()
    api, admin = rf.post("/api/v1/anything/"), rf.post("/admin/anything/")
    assert_error(views.forbidden(api), 403, "forbidden")
    assert_error(views.not_found(api), 404, "not_found")
    assert_error(views.csrf_failure(api, reason="CSRF cookie not set."), 403, "csrf_failed")
    assert views.csrf_failure(admin, reason="CSRF cookie not set.")["Content-Type"].startswith("text/html")


def test_unknown_api_paths_and_methods_get_json(client, settings):
    """Row 16: an unknown path under /api/ and a method a view does not allow."""
    settings.DEBUG = False
    assert_error(client.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(APIClient().delete("/api/v1/auth/token/"), 405, "method_not_allowed")
