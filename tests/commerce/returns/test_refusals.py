"""Every refusal of a return request and of its photos, each changing nothing: outside the store's
return window, more units than are left to return, lines of another order, before delivery,
while a dispute is open, bad photos (too many, someone else's, already used, not an image, too
large), and the uploads a buyer may keep unattached."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from commerce.disputes import services as disputes
from commerce.orders.models import Order
from commerce.returns import services
from commerce.returns.models import ReturnPhoto, ReturnRequest
from core.exceptions import Conflict
from tests.conftest import client_for
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.delivery import picked_up, ready_delivery
from tests.factories.returns import delivered_order_of, requested
from tests.images import gps_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.RETURNS_MEDIA_ROOT = tmp_path


def ask(order, *, user=None, **body):
    payload = {"lines": [{"order_line_id": order.lines.order_by("id").first().pk, "quantity": 1}],
               "reason": "damaged", "description": "Cracked housing.", **body}
    return client_for(user or order.buyer).post(f"/api/v1/orders/{order.pk}/returns/", payload, format="json")


def upload(user, data=None, name="photo.jpg"):
    return client_for(user).post("/api/v1/returns/photos/",
                                 {"file": SimpleUploadedFile(name, gps_jpeg() if data is None else data)},
                                 format="multipart")


def refused(response, status, code):
    assert (response.status_code, response.json()["code"]) == (status, code), response.content
    return response.json()


def test_only_inside_the_stores_return_window():
    order = delivered_order_of([("10.00", 1)])
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=14, minutes=1))
    body = refused(ask(order), 409, "return_window_closed")
    assert body["window_ends_at"]
    # a store that gives 30 days takes it
    assert client_for(order.vendor.owner).patch(f"/api/v1/vendors/{order.vendor_id}/return-policy/",
                                                {"window_days": 30}, format="json").status_code == 200
    returnable = client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/returnable/").json()
    assert returnable["open"] is True
    assert ask(order).status_code == 201
    order.refresh_from_db()
    assert ReturnRequest.objects.get().window_ends_at == order.delivered_at + timedelta(days=30)
    # below the EU's 14 days a store cannot go
    r = client_for(order.vendor.owner).patch(f"/api/v1/vendors/{order.vendor_id}/return-policy/", {"window_days": 13},
                                             format="json")
    refused(r, 400, "invalid")


def test_the_window_is_the_policys_on_the_day_of_proven_delivery():
    order = delivered_order_of([("10.00", 1)])
    with pytest.raises(Conflict) as exc:
        services.return_request(user=order.buyer, order_id=order.pk, reason="changed_mind",
                                lines=[{"order_line_id": order.lines.get().pk, "quantity": 1}],
                                now=order.delivered_at + timedelta(days=14, seconds=1))
    assert exc.value.code == "return_window_closed"
    rma = services.return_request(user=order.buyer, order_id=order.pk, reason="changed_mind",
                                  lines=[{"order_line_id": order.lines.get().pk, "quantity": 1}],
                                  now=order.delivered_at + timedelta(days=14))
    assert rma.window_ends_at == order.delivered_at + timedelta(days=14)


def test_never_more_than_bought_minus_returned_or_being_returned():
    order = delivered_order_of([("10.00", 3), ("4.00", 1)])
    first, second = order.lines.order_by("id")
    body = refused(ask(order, lines=[{"order_line_id": first.pk, "quantity": 4}]), 409, "quantity_exceeds_returnable")
    assert body["lines"] == [{"order_line_id": first.pk, "requested": 4, "returnable": 3}]
    rma = requested(order, lines=[{"order_line_id": first.pk, "quantity": 2}])
    body = refused(ask(order, lines=[{"order_line_id": first.pk, "quantity": 2},
                                     {"order_line_id": second.pk, "quantity": 1}]), 409, "quantity_exceeds_returnable")
    assert body["lines"] == [{"order_line_id": first.pk, "requested": 2, "returnable": 1}]
    assert ask(order, lines=[{"order_line_id": first.pk, "quantity": 1}]).status_code == 201
    refused(ask(order, lines=[{"order_line_id": first.pk, "quantity": 1}]), 409, "quantity_exceeds_returnable")
    # a rejected (or cancelled) return gives its units back
    services.return_reject(user=order.vendor.owner, return_id=rma.pk, reason="No.")
    assert ask(order, lines=[{"order_line_id": first.pk, "quantity": 2}]).status_code == 201
    assert ReturnRequest.objects.filter(order=order).count() == 3


def test_malformed_lines_and_reasons_are_refused():
    order = delivered_order_of([("10.00", 2)])
    other = delivered_order_of([("10.00", 1)])
    line = order.lines.get()
    refused(ask(order, lines=[{"order_line_id": other.lines.get().pk, "quantity": 1}]), 400, "invalid")
    refused(ask(order, lines=[{"order_line_id": line.pk, "quantity": 1}, {"order_line_id": line.pk, "quantity": 1}]),
            400, "invalid")
    refused(ask(order, lines=[{"order_line_id": line.pk, "quantity": 0}]), 400, "invalid")
    refused(ask(order, lines=[]), 400, "invalid")
    refused(ask(order, reason="bored"), 400, "invalid")
    refused(ask(order, description="x" * 4001), 400, "invalid")
    assert not ReturnRequest.objects.exists()


def test_not_before_delivery_is_proven_nor_while_a_dispute_is_open():
    on_the_way, _ = picked_up(ready_delivery(method="wallet"))
    refused(ask(on_the_way.order), 409, "not_delivered")
    order = delivered_order_of([("10.00", 1)])
    disputes.dispute_open(user=order.buyer, order_id=order.pk, reason="damaged", description="Broken.")
    refused(ask(order), 409, "dispute_open")
    assert not ReturnRequest.objects.exists()


def test_only_the_buyer_asks():
    order = delivered_order_of([("10.00", 1)])
    refused(ask(order, user=order.vendor.owner), 403, "return_not_allowed")
    refused(ask(order, user=AdminFactory()), 403, "return_not_allowed")
    refused(ask(order, user=UserFactory()), 404, "order_not_found")
    assert not ReturnRequest.objects.exists()


def test_up_to_five_photos_of_the_buyers_own_unattached_uploads():
    order = delivered_order_of([("10.00", 1), ("5.00", 1)])
    ids = [upload(order.buyer).json()["id"] for _ in range(6)]
    refused(ask(order, photo_ids=ids), 400, "too_many_photos")
    stranger_photo = upload(UserFactory()).json()["id"]
    refused(ask(order, photo_ids=[ids[0], stranger_photo]), 400, "invalid_photo")
    r = ask(order, photo_ids=ids[:5])
    assert r.status_code == 201 and len(r.json()["photos"]) == 5
    second = order.lines.order_by("id").last()
    refused(ask(order, lines=[{"order_line_id": second.pk, "quantity": 1}], photo_ids=[ids[0]]), 400, "invalid_photo")
    assert ReturnPhoto.objects.filter(return_request__isnull=False).count() == 5


def test_photos_are_checked_by_decoding_them(settings):
    buyer = UserFactory()
    refused(upload(buyer, b"\xff\xd8\xff\xe0" + b"\x00" * 200, "fake.jpg"), 400, "invalid_image")
    refused(upload(buyer, b"<svg onload=alert(1)>", "page.png"), 400, "invalid_image")
    settings.RETURN_MAX_PHOTO_BYTES = 100
    refused(upload(buyer), 400, "image_too_large")
    settings.RETURN_MAX_PHOTO_BYTES = 5 * 1024 * 1024
    settings.RETURN_MAX_UNATTACHED_PHOTOS = 2
    assert upload(buyer).status_code == upload(buyer).status_code == 201
    refused(upload(buyer), 409, "too_many_unattached_photos")
    assert ReturnPhoto.objects.count() == 2


def test_a_photo_is_its_uploaders_then_the_returns_parties_only():
    order = delivered_order_of([("10.00", 1)])
    photo = upload(order.buyer).json()
    stranger, store = client_for(UserFactory()), client_for(order.vendor.owner)
    assert client_for(order.buyer).get(photo["url"]).status_code == 200
    assert store.get(photo["url"]).status_code == 404  # not attached yet: the uploader's only
    assert ask(order, photo_ids=[photo["id"]]).status_code == 201
    assert store.get(photo["url"]).status_code == 200
    assert client_for(AdminFactory()).get(photo["url"]).status_code == 200
    refused(stranger.get(photo["url"]), 404, "photo_not_found")
    refused(client_for(delivered_order_of([("1.00", 1)]).vendor.owner).get(photo["url"]), 404, "photo_not_found")


def test_unattached_photos_are_purged_after_a_day():
    order = delivered_order_of([("10.00", 1)])
    kept, used, old = (upload(order.buyer).json()["id"] for _ in range(3))
    assert ask(order, photo_ids=[used]).status_code == 201
    ReturnPhoto.objects.filter(pk__in=[used, old]).update(created_at=timezone.now() - timedelta(hours=25))
    path = ReturnPhoto.objects.get(pk=old).file.path
    assert services.return_photos_purge() == 1
    assert {str(pk) for pk in ReturnPhoto.objects.values_list("pk", flat=True)} == {kept, used}
    assert not os.path.exists(path)
