"""Every returns endpoint as the wrong actor: strangers, couriers and other stores get 404 (a
return's id teaches them nothing), the wrong side of the return gets 403
``return_action_not_allowed`` (the buyer cannot approve, the store cannot cancel or escalate),
an anonymous client 401; nothing changes, nothing is published."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from commerce.returns.models import ReturnPolicy, ReturnRequest
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.delivery import courier
from tests.factories.returns import delivered_order_of, requested

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    order = delivered_order_of([("10.00", 2)])
    rma = requested(order)
    return {
        "order": order, "rma": rma,
        "buyer": order.buyer, "owner": order.vendor.owner, "clerk": VendorStaffFactory(vendor=order.vendor).user,
        "admin": AdminFactory(), "stranger": UserFactory(), "courier": courier(), "other_store": VendorFactory().owner,
    }


def line_grades(rma):
    return [{"id": line.pk, "grade": "as_new"} for line in rma.lines.all()]


#: endpoint -> (method, path, body, {persona: (status, code)}) for the people who may not do it
CASES = {
    "detail": ("get", "/api/v1/returns/{rid}/", None, {"stranger": 404, "courier": 404, "other_store": 404}),
    "approve": ("post", "/api/v1/returns/{rid}/approve/", {},
                {"buyer": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "reject": ("post", "/api/v1/returns/{rid}/reject/", {"reason": "No."},
               {"buyer": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "receive": ("post", "/api/v1/returns/{rid}/receive/", None,
                {"buyer": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "inspect": ("post", "/api/v1/returns/{rid}/inspect/", "grades",
                {"buyer": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "refund": ("post", "/api/v1/returns/{rid}/refund/", {},
               {"buyer": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "cancel": ("post", "/api/v1/returns/{rid}/cancel/", None,
               {"owner": 403, "clerk": 403, "admin": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "ship": ("post", "/api/v1/returns/{rid}/ship/", {"transport": "carrier", "carrier": "DHL", "tracking_number": "1"},
             {"owner": 403, "clerk": 403, "admin": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "escalate": ("post", "/api/v1/returns/{rid}/escalate/", {"description": "Please decide."},
                 {"owner": 403, "clerk": 403, "admin": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "request": ("post", "/api/v1/orders/{oid}/returns/", "lines",
                {"owner": 403, "clerk": 403, "admin": 403, "stranger": 404, "courier": 404, "other_store": 404}),
    "order_returns": ("get", "/api/v1/orders/{oid}/returns/", None, {"stranger": 404, "courier": 404, "other_store": 404}),
    "returnable": ("get", "/api/v1/orders/{oid}/returnable/", None, {"stranger": 404, "courier": 404,
                                                                    "other_store": 404}),
    "policy": ("patch", "/api/v1/vendors/{vid}/return-policy/", {"window_days": 30},
               {"buyer": 403, "clerk": 403, "stranger": 403, "courier": 403, "other_store": 403}),
}

CODES = {403: {"return_action_not_allowed", "return_not_allowed", "policy_not_allowed"},
         404: {"return_not_found", "order_not_found"}}


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_every_endpoint_refuses_the_wrong_actor_and_changes_nothing(world, endpoint):
    method, path, body, wrong = CASES[endpoint]
    rma, order = world["rma"], world["order"]
    url = path.format(rid=rma.pk, oid=order.pk, vid=order.vendor_id)
    if body == "grades":
        body = {"lines": line_grades(rma)}
    elif body == "lines":
        body = {"lines": [{"order_line_id": order.lines.get().pk, "quantity": 1}], "reason": "other"}
    events = OutboxEvent.objects.count()
    for persona, status in wrong.items():
        response = getattr(client_for(world[persona]), method)(url, body, format="json",
                                                               HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == status, (endpoint, persona, response.content)
        assert response.json()["code"] in CODES[status], (endpoint, persona, response.json())
    anonymous = getattr(APIClient(), method)(url, body, format="json")
    assert anonymous.status_code == 401
    assert ReturnRequest.objects.get(pk=rma.pk).status == "requested"
    assert ReturnRequest.objects.filter(order=order).count() == 1
    assert not ReturnPolicy.objects.exists()
    assert OutboxEvent.objects.count() == events


def test_the_stores_staff_and_marketplace_admins_may_act_for_the_store(world):
    """The right actors of the same endpoints: a clerk approves, an admin rejects another, the
    owner sets the policy, an admin too."""
    rma, order = world["rma"], world["order"]
    assert client_for(world["clerk"]).post(f"/api/v1/returns/{rma.pk}/approve/").json()["status"] == "approved"
    second = delivered_order_of([("1.00", 1)], vendor=order.vendor)
    other = requested(second)
    r = client_for(world["admin"]).post(f"/api/v1/returns/{other.pk}/reject/", {"reason": "Staff: not eligible."},
                                        format="json")
    assert r.json()["status"] == "rejected"
    for who in ("owner", "admin"):
        r = client_for(world[who]).patch(f"/api/v1/vendors/{order.vendor_id}/return-policy/", {"window_days": 21},
                                         format="json")
        assert r.status_code == 200 and r.json()["window_days"] == 21
    assert client_for(world["stranger"]).get(f"/api/v1/vendors/{order.vendor_id}/return-policy/").json()[
        "window_days"] == 21
    assert client_for(world["stranger"]).get(f"/api/v1/vendors/{uuid.uuid4()}/return-policy/").status_code == 404
