"""The REST API answers as its OpenAPI document says (schemathesis, property-based).

Schemathesis reads ``/api/v1/schema/`` from the app in process (WSGI, real PostgreSQL and Redis),
generates requests for every operation from the document and checks every answer: no server
error, a documented status code and content type, and a body that validates against the
documented schema. It runs as a buyer and as a store owner, with a store, products, a delivered
and disputed order, a dispatched order, an unpaid checkout, a live auction with a bid, a
conversation, a notification, verified bank details with a withdrawal, an uploaded product
image, a store invitation and a clerk in place, so requests reach real objects: a path parameter the
data has an id for gets that id (every fourth request keeps the generated one, which exercises
the not-found answers).

Bounded and deterministic: ``MAX_EXAMPLES`` requests per operation and role, Hypothesis
derandomized (the same requests on every run), no example database. Left out: sign-in and
sign-up (``/auth/``: throttled, and they end sessions) and the payment gateway's webhook (signed
by the gateway, tested in ``tests/security/test_money_webhooks.py``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from chat.models import ChatAttachment
from commerce.cart.models import CartItem
from commerce.returns import services as returns
from commerce.reviews import services as reviews
from commerce.invoices.models import Invoice
from commerce.shipping.models import ShippingMethod
from core.models import Address
from tests.conftest import tokens_for
from tests.factories.auctions import bidder, live_auction
from tests.factories.chat import ConversationFactory, send
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory
from tests.factories.core import AddressFactory, UserFactory
from tests.factories.delivery import delivered_order, ready_delivery
from tests.factories.disputes import DisputeFactory
from tests.factories.notifications import notify_one
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet
from tests.factories.support import open_ticket
from auctions import services as auction_services
from commerce.catalog.media import product_image_upload
from commerce.demo import demo_photo
from commerce.payouts.services import withdrawal_request
from commerce.stores.staff import store_invitation_create
from django.core.files.uploadedfile import SimpleUploadedFile
from tests.factories.stores import BANK_DETAILS, member, store_with_earnings

#: requests per operation and role
MAX_EXAMPLES = 12

SKIPPED = re.compile(r"^/api/v1/(auth/|payments/webhooks/)")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class World:
    """Ids of the seeded objects, per role where they differ."""

    ids: dict[str, str]
    per_role: dict[str, dict[str, str]] = field(default_factory=dict)


def _world() -> tuple[World, dict[str, str]]:
    vendor = VendorFactory()
    owner = vendor.owner
    AddressFactory(user=owner, is_default_shipping=True)
    products = [ProductFactory(vendor=vendor, stock=500, price="12.50") for _ in range(3)]
    buyer = UserFactory()
    funded_wallet(buyer, "5000.00")
    delivered = delivered_order(buyer=buyer, vendor=vendor)
    dispute = DisputeFactory(order=delivered)
    dispatched = ready_delivery(buyer=buyer, vendor=vendor)
    buyer_with_cart({products[0]: 2}, buyer=buyer)
    checkout = checkout_for(buyer=buyer)
    buyer_with_cart({products[1]: 1}, buyer=buyer)
    buyer_with_cart({products[2]: 1}, buyer=owner)
    auction = live_auction(vendor=vendor, buy_now="900.00")
    auction_services.auction_place_bid(auction_id=auction.pk, bidder=bidder(), max_amount="20.00")
    kept = delivered_order(buyer=buyer, vendor=vendor)  # reviewed, and partly sent back
    review = reviews.review_create(user=buyer, order_line_id=kept.lines.first().pk, rating=4, title="Fine")
    rma = returns.return_request(user=buyer, order_id=kept.pk, reason="changed_mind",
                                 lines=[{"order_line_id": kept.lines.first().pk, "quantity": 1}])
    conversation = ConversationFactory(buyer=buyer, product=products[0])
    send(conversation, buyer, "Is it still available?")
    send(conversation, owner, "Yes.")
    store_with_earnings("300.00", vendor=vendor)  # verified bank details, earnings to withdraw
    withdrawal = withdrawal_request(vendor_id=vendor.pk, actor=owner, amount="50.00")
    image = product_image_upload(user=owner, product_id=products[0].pk, file=SimpleUploadedFile(
        "part.png", demo_photo(label="part", seed="openapi", side=320), content_type="image/jpeg"))
    invitation = store_invitation_create(vendor_id=vendor.pk, actor=owner, email="invitee@example.com")
    clerk = member(vendor, "staff")
    world = World(ids={
        "vendor_id": str(vendor.pk), "product_id": str(products[0].pk), "order_id": str(delivered.pk),
        "category": str(CategoryFactory().pk), "cart_product_id": str(products[1].pk),
        "checkout_id": str(checkout.pk), "dispute_id": str(dispute.pk), "delivery_id": str(dispatched.pk),
        "auction_id": str(auction.pk), "conversation_id": str(conversation.pk), "seq": "1",
        "withdrawal_id": str(withdrawal.pk), "image_id": str(image.pk), "invitation_id": str(invitation.pk),
        "user_id": str(clerk.pk),
        "review_id": str(review.pk), "return_id": str(rma.pk),
    })
    invoice = Invoice.objects.get(order=delivered)
    method = ShippingMethod.objects.filter(vendor=vendor).first()
    world.ids.update({"invoice_id": str(invoice.pk), "zone_id": str(method.zone_id), "method_id": str(method.pk)})
    attachment = ChatAttachment.objects.filter(conversation=conversation).first()
    if attachment is not None:
        world.ids["attachment_id"] = str(attachment.pk)
    tickets = {"buyer": open_ticket(requester=buyer, order_id=delivered.pk),
               "owner": open_ticket(requester=owner, role="store", vendor_id=vendor.pk, category="payment")}
    for role, user in (("buyer", buyer), ("owner", owner)):
        world.per_role[role] = {
            "ticket_id": str(tickets[role].pk),
            "item_id": str(CartItem.objects.filter(cart__user=user).values_list("pk", flat=True).first()),
            "id": str(notify_one(user).pk),
            "address_id": str(Address.objects.filter(user=user).values_list("pk", flat=True).first()),
        }
    tokens = {"buyer": tokens_for(buyer)["access"], "owner": tokens_for(owner)["access"]}
    return world, tokens


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _explicit(schema, *, role: str, token: str, ids: dict[str, str], failures: dict[str, str]) -> list[int]:
    """The common writes with valid input, in the order a client makes them: each must succeed
    (2xx) and answer as documented. Returns their status codes."""
    auth = {"Authorization": f"Bearer {token}"}
    codes: list[int] = []

    def call(method: str, path: str, *, path_parameters=None, body=None, headers=None, query=None) -> dict:
        kwargs = {"path_parameters": path_parameters or {}, "headers": {**(headers or {})}, "query": query or {}}
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = schema[path][method].Case(**kwargs)
        label = f"{role} {method} {path}"
        try:
            response = case.call_and_validate(headers=auth, checks=CHECKS)
        except FailureGroup as group:
            failures.setdefault(f"{label}: explicit", str(group))
            return {}
        codes.append(response.status_code)
        if response.status_code >= 300:
            failures.setdefault(f"{label}: explicit request refused {response.status_code}", response.text[:500])
            return {}
        return response.json() if response.content else {}

    item = call("POST", "/api/v1/cart/items/", body={"product_id": ids["cart_product_id"], "quantity": 1})
    line = next((x for x in item.get("lines", []) if x["product"]["id"] == ids["cart_product_id"]), None)
    if line:
        call("PATCH", "/api/v1/cart/items/{item_id}/", path_parameters={"item_id": line["id"]}, body={"quantity": 2})
        call("DELETE", "/api/v1/cart/items/{item_id}/", path_parameters={"item_id": line["id"]})
    call("POST", "/api/v1/cart/items/", body={"product_id": ids["cart_product_id"], "quantity": 1})
    cart = call("GET", "/api/v1/cart/")
    choice = {s["vendor_id"]: s["methods"][0]["id"] for s in cart.get("shipping", {}).get("stores", []) if s["methods"]}
    checkout = call("POST", "/api/v1/checkout/", body={"shipping_methods": choice}, headers=_key())
    for order in checkout.get("orders", [])[:1]:
        call("POST", "/api/v1/orders/{order_id}/payments/", path_parameters={"order_id": order["id"]},
             body={"method": "card", "card_token": "tok_visa"}, headers=_key())
        call("GET", "/api/v1/orders/{order_id}/payments/", path_parameters={"order_id": order["id"]})
        ids["paid_order_id"] = order["id"]
    call("POST", "/api/v1/wallet/deposits/", body={"amount": "25.00", "card_token": "tok_visa"}, headers=_key())
    call("POST", "/api/v1/chat/conversations/{conversation_id}/messages/",
         path_parameters={"conversation_id": ids["conversation_id"]}, body={"text": f"Hello from the {role}"})
    call("POST", "/api/v1/chat/conversations/{conversation_id}/read/",
         path_parameters={"conversation_id": ids["conversation_id"]}, body={"up_to_seq": 2})
    ticket = {"ticket_id": ids["ticket_id"]}
    call("POST", "/api/v1/support/tickets/{ticket_id}/messages/", path_parameters=ticket,
         body={"text": f"More details from the {role}", "client_msg_id": f"{role}-1"})
    call("POST", "/api/v1/support/tickets/{ticket_id}/read/", path_parameters=ticket, body={"up_to_seq": 2})
    call("POST", "/api/v1/support/tickets/", body={"category": "account", "subject": "Email change", "text": "Help"})
    if role == "buyer":
        call("POST", "/api/v1/auctions/{auction_id}/bids/", path_parameters={"auction_id": ids["auction_id"]},
             body={"max_amount": "40.00"})
        call("POST", "/api/v1/auctions/{auction_id}/watch/", path_parameters={"auction_id": ids["auction_id"]})
    else:
        paid = ids.get("paid_order_id")
        if paid:
            call("POST", "/api/v1/orders/{order_id}/status/", path_parameters={"order_id": paid},
                 body={"status": "processing"})
            call("POST", "/api/v1/orders/{order_id}/refunds/", path_parameters={"order_id": paid},
                 body={"amount": "1.00", "reason": "goodwill"}, headers=_key())
        ends = (timezone.now() + timedelta(hours=2)).isoformat()
        call("POST", "/api/v1/auctions/", body={"title": "Old radio", "start_price": "5.00", "ends_at": ends})
        call("POST", "/api/v1/products/", body={"category_id": int(ids["category"]), "name": "Lamp", "sku": "LAMP-1",
                                                "price": "19.99", "stock": 3})
        store = {"vendor_id": ids["vendor_id"]}
        call("PATCH", "/api/v1/vendors/{vendor_id}/", path_parameters=store,
             body={"description": "Parts.", "website": "https://parts.example", "address": {"country": "DE"}})
        call("PUT", "/api/v1/vendors/{vendor_id}/pickup-point/", path_parameters=store,
             body={"latitude": 52.52, "longitude": 13.405})
        call("POST", "/api/v1/vendors/{vendor_id}/invitations/", path_parameters=store,
             body={"email": "second@example.com", "role": "manager"})
        call("PATCH", "/api/v1/vendors/{vendor_id}/staff/{user_id}/", path_parameters={**store, "user_id": ids["user_id"]},
             body={"role": "manager"})
        call("PUT", "/api/v1/vendors/{vendor_id}/payout-account/", path_parameters=store,
             body={**BANK_DETAILS, "minimum_amount": "20.00"})  # the verified details: stay verified
        call("POST", "/api/v1/vendors/{vendor_id}/withdrawals/", path_parameters=store, body={"amount": "20.00"},
             headers=_key())
        product = {"product_id": ids["product_id"]}
        call("PATCH", "/api/v1/products/{product_id}/images/{image_id}/",
             path_parameters={**product, "image_id": ids["image_id"]}, body={"alt_text": "Side view"})
        call("PUT", "/api/v1/products/{product_id}/images/order/", path_parameters=product,
             body={"ids": [int(ids["image_id"])]})
    return codes


def _operations(schema):
    for result in schema.get_all_operations():
        operation = result.ok()
        if not SKIPPED.match(operation.path):
            yield operation


def _run(operation, *, token: str, ids: dict[str, str], failures: dict[str, str], counter: list[int]) -> None:
    names = {p.name for p in operation.path_parameters}

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        counter[0] += 1
        if counter[0] % 4:
            for name in names & ids.keys():
                case.path_parameters[name] = ids[name]
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
        except FailureGroup as group:  # every distinct failure is collected and reported at the end
            for failure in group.exceptions:
                failures.setdefault(f"{operation.label}: {failure.title}", str(group))
        except Exception as exc:  # noqa: BLE001 - e.g. an exception escaping the app
            failures.setdefault(f"{operation.label}: {type(exc).__name__}", str(exc))

    check()


@pytest.mark.django_db(transaction=True)
def test_every_operation_answers_as_documented_for_a_buyer_and_a_store_owner():
    world, tokens = _world()
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    operations = list(_operations(schema))
    failures: dict[str, str] = {}
    counter = [0]
    explicit: list[int] = []
    for role in ("buyer", "owner"):
        ids = {**world.ids, **world.per_role[role]}
        explicit += _explicit(schema, role=role, token=tokens[role], ids=ids, failures=failures)
        world.ids.update({k: v for k, v in ids.items() if k == "paid_order_id"})
        for operation in operations:
            _run(operation, token=tokens[role], ids=ids, failures=failures, counter=counter)
    assert len(operations) > 60 and counter[0] > len(operations) * 2 and len(explicit) >= 25
    assert not failures, "\n".join(failures) + "\n\n" + "\n\n".join(list(failures.values())[:20])


def test_the_openapi_document_builds_without_a_warning():
    """drf-spectacular guesses nothing: every view, field and choice set is annotated (a warning
    means a guessed or missing type, or two enums fighting for one name)."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    assert [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache] == []
    enums = {name for name in schema["components"]["schemas"] if name.endswith("Enum")}
    assert {"OrderStatusEnum", "PaymentStatusEnum", "AuctionStatusEnum", "DeliveryStatusEnum"} <= enums
