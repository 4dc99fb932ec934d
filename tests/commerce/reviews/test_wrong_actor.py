"""Every reviews endpoint as the wrong actor: an anonymous client gets 401 where signing in is
needed, people who may not read a hidden review get 404, the wrong side 403
``review_action_not_allowed`` (the store cannot edit the buyer's words, the buyer cannot reply
or moderate, nobody but staff sees the queue), a stranger cannot review someone else's line
(404); nothing changes and nothing is published."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from commerce.reviews import services
from commerce.reviews.models import Review, ReviewPhoto, ReviewReport
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.delivery import courier
from tests.factories.returns import delivered_order_of
from tests.factories.reviews import line_ids, reviewed
from tests.images import gps_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.REVIEWS_MEDIA_ROOT = tmp_path


@pytest.fixture
def world():
    order = delivered_order_of([("10.00", 1), ("4.00", 1)])
    review = reviewed(order, photo_ids=[services.review_photo_upload(
        user=order.buyer, file=SimpleUploadedFile("p.jpg", gps_jpeg(), "image/jpeg")).pk])
    hidden_order = delivered_order_of([("3.00", 1)], vendor=order.vendor)
    hidden = reviewed(hidden_order)
    services.review_moderate(user=AdminFactory(), review_id=hidden.pk, to_status="hidden", reason="Spam.")
    loose = services.review_photo_upload(user=order.buyer, file=SimpleUploadedFile("q.jpg", gps_jpeg(), "image/jpeg"))
    return {
        "order": order, "review": review, "hidden": hidden, "loose": loose,
        "photo": review.photos.get(),
        "buyer": order.buyer, "owner": order.vendor.owner, "clerk": VendorStaffFactory(vendor=order.vendor).user,
        "admin": AdminFactory(), "stranger": UserFactory(), "courier": courier(), "other_store": VendorFactory().owner,
        "anonymous": None,
    }


SIGNED_IN = {"anonymous": 401}
STRANGERS = {"stranger": 404, "courier": 404, "other_store": 404}

#: endpoint -> (method, path, body, {persona: status}) for the people who may not do it
CASES = {
    "create": ("post", "/api/v1/reviews/", "second_line",
               {**SIGNED_IN, **STRANGERS, "owner": 404, "clerk": 404, "admin": 404}),
    "edit": ("patch", "/api/v1/reviews/{rid}/", {"rating": 1},
             {**SIGNED_IN, "owner": 403, "clerk": 403, "admin": 403, "stranger": 403, "courier": 403,
              "other_store": 403}),
    "edit_hidden": ("patch", "/api/v1/reviews/{hid}/", {"rating": 1},
                    {**SIGNED_IN, **STRANGERS, "owner": 403, "clerk": 403, "admin": 403, "buyer": 404}),
    "reply": ("post", "/api/v1/reviews/{rid}/reply/", {"text": "Hello"},
              {**SIGNED_IN, "buyer": 403, "admin": 403, "stranger": 403, "courier": 403, "other_store": 403}),
    "report_own": ("post", "/api/v1/reviews/{rid}/report/", {"reason": "spam"}, {**SIGNED_IN, "buyer": 403}),
    "report_hidden": ("post", "/api/v1/reviews/{hid}/report/", {"reason": "spam"},
                      {**SIGNED_IN, **STRANGERS, "buyer": 404}),
    "hide": ("post", "/api/v1/reviews/{rid}/hide/", {"reason": "No."},
             {**SIGNED_IN, "buyer": 403, "owner": 403, "clerk": 403, "stranger": 403, "courier": 403,
              "other_store": 403}),
    "restore": ("post", "/api/v1/reviews/{hid}/restore/", {"reason": "Yes."},
                {**SIGNED_IN, **STRANGERS, "buyer": 404, "owner": 403, "clerk": 403}),
    "queue": ("get", "/api/v1/reviews/reported/", None,
              {**SIGNED_IN, "buyer": 403, "owner": 403, "clerk": 403, "stranger": 403, "courier": 403,
               "other_store": 403}),
    "hidden_detail": ("get", "/api/v1/reviews/{hid}/", None, {"anonymous": 404, **STRANGERS, "buyer": 404}),
    "loose_photo": ("get", "/api/v1/reviews/photos/{loose}/", None,
                    {"anonymous": 404, **STRANGERS, "owner": 404, "clerk": 404, "admin": 404}),
    "upload": ("post", "/api/v1/reviews/photos/", "photo", SIGNED_IN),
    "mine": ("get", "/api/v1/reviews/", None, SIGNED_IN),
    "order_reviews": ("get", "/api/v1/orders/{oid}/reviews/", None, {**SIGNED_IN, **STRANGERS}),
}


def _state():
    return (list(Review.objects.order_by("pk").values_list("pk", "rating", "status", "reply_text", "open_reports")),
            ReviewReport.objects.count(), ReviewPhoto.objects.count(), OutboxEvent.objects.count())


def test_every_endpoint_refuses_the_wrong_actor_and_changes_nothing(world):
    for case in sorted(CASES):
        refuses(world, case)


def refuses(world, case):
    """Each persona of the case gets its status with an error body, and nothing changes."""
    method, path, body, refusals = CASES[case]
    url = path.format(rid=world["review"].pk, hid=world["hidden"].pk, oid=world["order"].pk, loose=world["loose"].pk)
    if body == "second_line":
        body = {"order_line_id": line_ids(world["order"])[1], "rating": 4}
    for persona, expected in refusals.items():
        user = world[persona]
        client = APIClient() if user is None else client_for(user)
        before = _state()
        if body == "photo":
            r = client.post(url, {"file": SimpleUploadedFile("p.jpg", gps_jpeg(), "image/jpeg")}, format="multipart")
        else:
            r = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
        assert r.status_code == expected, (case, persona, r.status_code, r.content[:300])
        body_json = r.json()
        assert set(body_json) >= {"code", "detail"}, (case, persona, body_json)
        if expected == 403:
            assert body_json["code"] in ("review_action_not_allowed", "own_store"), (case, persona, body_json)
        assert _state() == before, (case, persona)


def test_the_store_and_staff_may_act_in_their_roles(world):
    review = world["review"]
    for persona in ("owner", "clerk"):
        r = client_for(world[persona]).post(f"/api/v1/reviews/{review.pk}/reply/", {"text": f"From {persona}"},
                                            format="json")
        assert r.status_code == 200 and r.json()["allowed_actions"] == ["edit_reply", "report"]
    for persona in ("owner", "clerk", "admin"):
        assert client_for(world[persona]).get(f"/api/v1/reviews/{world['hidden'].pk}/").json()[
            "moderation_reason"] == "Spam."
    assert client_for(world["admin"]).post(f"/api/v1/reviews/{world['hidden'].pk}/restore/", {"reason": "OK."},
                                           format="json").status_code == 200
