"""Delivery races (real threads), REST access, and the ``delivery:`` topic over real sockets:
the courier's ``location`` command reaches a watching buyer, others are refused, and the buyer's
view ends at delivery."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.exceptions import ApplicationError
from delivery import services
from delivery.models import Delivery
from tests.conftest import client_for, tokens_for
from tests.factories.core import UserFactory
from tests.factories.delivery import PICK, courier, point, ready_delivery
from tests.live import WSClient


@pytest.mark.django_db(transaction=True)
def test_two_couriers_claiming_the_same_delivery_one_wins():
    d = ready_delivery()
    couriers = [courier() for _ in range(8)]
    barrier, out, lock = threading.Barrier(8), Counter(), threading.Lock()

    def claim(c):
        try:
            barrier.wait()
            services.delivery_claim(courier=c, delivery_id=d.pk)
            r = "ok"
        except ApplicationError as exc:
            r = exc.code
        finally:
            connection.close()
        with lock:
            out[r] += 1

    threads = [threading.Thread(target=claim, args=(c,)) for c in couriers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert out == Counter({"ok": 1, "already_claimed": 7})


@pytest.mark.django_db(transaction=True)
def test_parallel_claims_by_one_courier_respect_the_cap():
    c = courier()
    for _ in range(4):
        services.delivery_claim(courier=c, delivery_id=ready_delivery().pk)
    open_ones = [ready_delivery() for _ in range(4)]
    barrier, out, lock = threading.Barrier(4), Counter(), threading.Lock()

    def claim(d):
        try:
            barrier.wait()
            services.delivery_claim(courier=c, delivery_id=d.pk)
            r = "ok"
        except ApplicationError as exc:
            r = exc.code
        finally:
            connection.close()
        with lock:
            out[r] += 1

    threads = [threading.Thread(target=claim, args=(d,)) for d in open_ones]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert out == Counter({"ok": 1, "too_many_active": 3})
    assert Delivery.objects.filter(courier=c).count() == 5


@pytest.mark.django_db
def test_rest_access_per_object_and_batch_upload():
    d = ready_delivery()
    c = courier()
    assert client_for(c).post(f"/api/v1/deliveries/{d.pk}/claim/").status_code == 200
    assert client_for(UserFactory()).get(f"/api/v1/deliveries/{d.pk}/").status_code == 404
    buyer_view = client_for(d.order.buyer).get(f"/api/v1/deliveries/{d.pk}/").json()
    assert buyer_view["pin"] == d.pin and buyer_view["status"] == "assigned"
    assert "pin" not in client_for(c).get(f"/api/v1/deliveries/{d.pk}/").json()
    now = timezone.now()
    pts = [point(now - timedelta(seconds=i), PICK[0] + i * 0.00005, PICK[1]) for i in range(5)]
    r = client_for(UserFactory()).post(f"/api/v1/deliveries/{d.pk}/locations/", {"points": pts}, format="json")
    assert r.status_code == 404  # the delivery does not exist for them
    r = client_for(c).post(f"/api/v1/deliveries/{d.pk}/locations/", {"points": pts + pts[:2]}, format="json")
    assert r.status_code == 201 and r.json()["kept"] == 5 and r.json()["dropped"] == 2
    r = client_for(c).post(f"/api/v1/deliveries/{d.pk}/complete/", {"pin": d.pin}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"  # not picked up yet
    assert client_for(c).post(f"/api/v1/deliveries/{d.pk}/status/", {"status": "picked_up"}, format="json").status_code == 200
    r = client_for(c).post(f"/api/v1/deliveries/{d.pk}/complete/", {"pin": "abcd"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wrong_pin" and r.json()["attempts_left"] == 4
    opened = client_for(courier()).get("/api/v1/deliveries/?open=1&lat=52.5&lon=13.4")
    assert opened.status_code == 200
    assert client_for(UserFactory()).get("/api/v1/deliveries/?open=1").status_code == 403


@pytest.mark.live
def test_courier_streams_on_the_socket_the_buyer_watches_and_tracking_ends(live):
    d = ready_delivery()
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="picked_up")
    topic = f"delivery:{d.pk}"
    buyer = WSClient(live.ws_url)
    buyer.auth(tokens_for(d.order.buyer)["access"])
    snap = buyer.request("subscribe", topic=topic)
    assert snap["status"] == "ok" and snap["data"]["snapshot"]["status"] == "picked_up"
    stranger = WSClient(live.ws_url)
    stranger.auth(tokens_for(UserFactory())["access"])
    refused = stranger.request("subscribe", topic=topic)
    assert refused["status"] == "error" and refused["error"]["code"] == "forbidden"
    courier_ws = WSClient(live.ws_url)
    courier_ws.auth(tokens_for(c)["access"])
    assert courier_ws.request("subscribe", topic=topic)["status"] == "ok"
    other_courier = WSClient(live.ws_url)
    other_courier.auth(tokens_for(courier())["access"])
    denied = other_courier.request("command", topic=topic, name="location", data=point(timezone.now(), *PICK))
    assert denied["status"] == "error"
    reply = courier_ws.request("command", topic=topic, name="location", data=point(timezone.now(), *PICK))
    assert reply["status"] == "ok" and reply["data"]["broadcast"] is True
    event = buyer.next_event(topic, "delivery.location")
    assert event["data"]["lat"] == pytest.approx(PICK[0]) and event["data"]["distance_m"] > 1900
    assert event["data"]["eta_seconds"] > 0
    services.delivery_complete(courier=c, delivery_id=d.pk, pin=Delivery.objects.get(pk=d.pk).pin)
    revoked = buyer.next_event(topic, "subscription.revoked")
    assert revoked["data"]["reason"] == "tracking_ended"
    again = buyer.request("subscribe", topic=topic)
    assert again["status"] == "error" and again["error"]["code"] == "forbidden"
    late = courier_ws.request("command", topic=topic, name="location", data=point(timezone.now(), *PICK))
    assert late["status"] == "error" and late["error"]["code"] == "tracking_ended"
    for ws in (buyer, stranger, courier_ws, other_courier):
        ws.close()
