"""Delivery services: creation from the order pipeline, claims, the status flow moving the order,
every location filter, the 2 s throttle (newest wins), arriving, stale/live, PIN proof and lock,
QR proof, privacy after the end, and the purge."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from commerce.disputes.models import Dispute
from commerce.orders.models import Order
from commerce.wallet.models import Escrow, Wallet
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from delivery import services
from delivery.models import Delivery, LocationPoint
from realtime.models import OutboxEvent
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.delivery import DROP, PICK, courier, point, ready_delivery

pytestmark = pytest.mark.django_db


def ev(delivery, type_):
    return [e.data for e in OutboxEvent.objects.filter(topic=f"delivery:{delivery.pk}", type=type_).order_by("id")]


@pytest.fixture
def claimed():
    d = ready_delivery()
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="picked_up")
    d.refresh_from_db()
    return d, c


def ingest(d, c, pts, now=None):
    return services.delivery_ingest_locations(courier=c, delivery_id=d.pk, points=pts, now=now)


def test_ready_for_pickup_creates_the_delivery_and_pickup_moves_the_order():
    d = ready_delivery()
    assert d.status == "pending" and (d.pickup_lat, d.dropoff_lat) == (PICK[0], DROP[0]) and len(d.pin) == 4
    c = courier()
    services.delivery_claim(courier=c, delivery_id=d.pk)
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="picked_up")
    assert Order.objects.get(pk=d.order_id).status == "out_for_delivery"
    assert [e["to"] for e in ev(d, "delivery.status_changed")] == ["assigned", "picked_up"]


def test_only_couriers_claim_and_at_most_five_active():
    with pytest.raises(Forbidden):
        services.delivery_claim(courier=UserFactory(), delivery_id=ready_delivery().pk)
    c = courier()
    for _ in range(5):
        services.delivery_claim(courier=c, delivery_id=ready_delivery().pk)
    with pytest.raises(Conflict) as exc:
        services.delivery_claim(courier=c, delivery_id=ready_delivery().pk)
    assert exc.value.code == "too_many_active"


def test_second_claim_is_already_claimed():
    d = ready_delivery()
    services.delivery_claim(courier=courier(), delivery_id=d.pk)
    with pytest.raises(Conflict) as exc:
        services.delivery_claim(courier=courier(), delivery_id=d.pk)
    assert exc.value.code == "already_claimed"


def test_courier_not_assigned_cannot_post_positions(claimed):
    d, _ = claimed
    now = timezone.now()
    with pytest.raises(NotFound) as exc:  # another courier: the delivery does not exist for them
        ingest(d, courier(), [point(now, *PICK)])
    assert exc.value.code == "delivery_not_found"
    with pytest.raises(Forbidden) as exc:  # the buyer sees it but may not post
        ingest(d, d.order.buyer, [point(now, *PICK)])
    assert exc.value.code == "not_assigned" and not LocationPoint.objects.exists()


@pytest.mark.parametrize("bad", [{"lat": 91}, {"lon": -181}, {"accuracy_m": -1}, {"ts": "yesterday"},
                                 {"ts": "2026-11-23T10:00:00"}, {"lat": "52.5"}, {"speed_mps": -3}])
def test_malformed_points_refuse_the_whole_batch(claimed, bad):
    d, c = claimed
    good = point(timezone.now(), *PICK)
    with pytest.raises(ApplicationError) as exc:
        ingest(d, c, [good, {**point(timezone.now() - timedelta(seconds=1), *PICK), **bad}])
    assert exc.value.code == "invalid" and not LocationPoint.objects.exists()


def test_future_timestamps_are_refused(claimed):
    d, c = claimed
    now = timezone.now()
    with pytest.raises(ApplicationError) as exc:
        ingest(d, c, [point(now + timedelta(seconds=31), *PICK)], now=now)
    assert exc.value.code == "future_timestamp"
    assert ingest(d, c, [point(now + timedelta(seconds=29), *PICK)], now=now).kept == 1


def test_duplicates_are_dropped_and_out_of_order_batches_give_one_ordered_path(claimed):
    d, c = claimed
    t0 = timezone.now() - timedelta(seconds=60)
    pts = [point(t0 + timedelta(seconds=i), PICK[0] + i * 0.0001, PICK[1]) for i in range(6)]
    r1 = ingest(d, c, [pts[3], pts[1], pts[5]])
    r2 = ingest(d, c, [pts[0], pts[1], pts[2], pts[4], pts[5], pts[5]])
    assert (r1.kept, r2.kept, r2.dropped) == (3, 3, 3)
    path = list(LocationPoint.objects.filter(delivery=d, kept=True).order_by("ts").values_list("lat", flat=True))
    assert path == sorted(path) and len(path) == 6
    d.refresh_from_db()
    assert d.last_lat == pytest.approx(PICK[0] + 5 * 0.0001)


def test_a_jump_is_stored_as_rejected_and_not_broadcast(claimed):
    d, c = claimed
    t0 = timezone.now() - timedelta(seconds=30)
    ingest(d, c, [point(t0, *PICK)], now=t0)
    r = ingest(d, c, [point(t0 + timedelta(seconds=10), PICK[0] + 0.01, PICK[1])], now=t0 + timedelta(seconds=10))  # 1.1 km in 10 s
    assert (r.kept, r.rejected, r.broadcast) == (0, 1, False)
    jump = LocationPoint.objects.get(delivery=d, kept=False)
    assert jump.reject_reason == "jump"
    assert len(ev(d, "delivery.location")) == 1


def test_inaccurate_points_are_kept_but_not_broadcast(claimed):
    d, c = claimed
    now = timezone.now()
    r = ingest(d, c, [point(now, *PICK, accuracy=150)], now=now)
    assert (r.kept, r.hidden, r.broadcast) == (1, 1, False) and ev(d, "delivery.location") == []


def test_throttle_sends_at_most_one_per_window_and_the_newest_wins(claimed):
    d, c = claimed
    t0 = timezone.now() - timedelta(seconds=20)
    assert ingest(d, c, [point(t0, *PICK)], now=t0).broadcast
    r = ingest(d, c, [point(t0 + timedelta(seconds=0.5), PICK[0] + 0.0001, PICK[1])], now=t0 + timedelta(seconds=0.5))
    r2 = ingest(d, c, [point(t0 + timedelta(seconds=1), PICK[0] + 0.0002, PICK[1])], now=t0 + timedelta(seconds=1))
    assert r.deferred and r2.deferred
    assert services.delivery_flush_location(delivery_id=d.pk, now=t0 + timedelta(seconds=1.5)) is False  # window closed
    assert services.delivery_flush_location(delivery_id=d.pk, now=t0 + timedelta(seconds=2.1)) is True
    sent = ev(d, "delivery.location")
    assert [s["lat"] for s in sent] == [pytest.approx(PICK[0]), pytest.approx(PICK[0] + 0.0002)]  # 0.0001 never sent
    assert sent[-1]["distance_m"] > 0 and sent[-1]["eta_seconds"] > 0
    assert services.delivery_flush_location(delivery_id=d.pk, now=t0 + timedelta(seconds=5)) is False  # nothing new


def test_within_300_m_the_status_becomes_arriving_and_the_buyer_is_told(claimed):
    from notifications.models import Notification

    d, c = claimed
    now = timezone.now()
    ingest(d, c, [point(now, DROP[0] - 0.002, DROP[1])], now=now)  # ~220 m south of the drop-off
    d.refresh_from_db()
    assert d.status == "arriving"
    assert Notification.objects.filter(recipient=d.order.buyer, kind="delivery.arriving").count() == 1


def test_stale_after_60_s_and_live_again_at_the_next_point(claimed):
    d, c = claimed
    t0 = timezone.now() - timedelta(seconds=120)
    ingest(d, c, [point(t0, *PICK)], now=t0)
    assert services.deliveries_tick(now=t0 + timedelta(seconds=30))["stale"] == 0
    assert services.deliveries_tick(now=t0 + timedelta(seconds=61))["stale"] == 1
    assert services.deliveries_tick(now=t0 + timedelta(seconds=62))["stale"] == 0  # once
    ingest(d, c, [point(t0 + timedelta(seconds=65), PICK[0] + 0.0001, PICK[1])], now=t0 + timedelta(seconds=65))
    assert len(ev(d, "delivery.courier_stale")) == 1 and len(ev(d, "delivery.courier_live")) == 1


def test_wrong_pins_count_and_lock_after_five_until_staff_reset(claimed):
    d, c = claimed
    wrong = "0000" if d.pin != "0000" else "1111"
    for left in (4, 3, 2, 1):
        with pytest.raises(Conflict) as exc:
            services.delivery_complete(courier=c, delivery_id=d.pk, pin=wrong)
        assert (exc.value.code, exc.value.extra["attempts_left"]) == ("wrong_pin", left)
    with pytest.raises(Conflict) as exc:
        services.delivery_complete(courier=c, delivery_id=d.pk, pin=wrong)
    assert exc.value.code == "pin_locked"
    with pytest.raises(Conflict) as exc:
        services.delivery_complete(courier=c, delivery_id=d.pk, pin=d.pin)  # even the right one
    assert exc.value.code == "pin_locked"
    with pytest.raises(Forbidden):
        services.delivery_reset_pin(user=c, delivery_id=d.pk)
    services.delivery_reset_pin(user=AdminFactory(), delivery_id=d.pk)
    done = services.delivery_complete(courier=c, delivery_id=d.pk, pin=d.pin)
    assert (done.status, done.proof) == ("delivered", "pin")
    order = Order.objects.get(pk=d.order_id)
    assert order.status == "delivered" and order.delivered_at == done.delivered_at
    # proof starts the buyer-protection window: the store is paid only after it
    assert order.escrow.status == "held" and order.escrow.release_after == order.delivered_at + timedelta(days=3)
    assert not Wallet.objects.filter(user=order.vendor.owner, balance__gt=0).exists()


def test_qr_proof_is_single_use_and_bound_to_the_delivery(claimed):
    d, c = claimed
    other = ready_delivery()
    with pytest.raises(Conflict) as exc:
        services.delivery_complete(courier=c, delivery_id=d.pk, qr=services.qr_token(other))
    assert exc.value.code == "invalid_qr"
    assert services.delivery_complete(courier=c, delivery_id=d.pk, qr=services.qr_token(d)).proof == "qr"


def test_no_positions_after_delivery_and_the_buyer_sees_none(claimed):
    d, c = claimed
    now = timezone.now()
    ingest(d, c, [point(now - timedelta(seconds=5), *PICK)], now=now)
    services.delivery_complete(courier=c, delivery_id=d.pk, pin=d.pin)
    with pytest.raises(Conflict) as exc:
        ingest(d, c, [point(now, *PICK)], now=now)
    assert exc.value.code == "tracking_ended"
    d.refresh_from_db()
    buyer_view = services.delivery_data(d, viewer=d.order.buyer, with_path=True)
    assert buyer_view["tracking_ended"] and buyer_view["last_position"] is None and "path" not in buyer_view
    assert "pin" not in buyer_view
    courier_view = services.delivery_data(d, viewer=c, with_path=True)
    assert courier_view["last_position"] is not None and len(courier_view["path"]) == 1


def test_failed_needs_a_reason_and_ends_tracking(claimed):
    d, c = claimed
    with pytest.raises(ApplicationError):
        services.delivery_set_status(courier=c, delivery_id=d.pk, status="failed")
    services.delivery_set_status(courier=c, delivery_id=d.pk, status="failed", reason="Nobody home")
    d.refresh_from_db()
    assert (d.status, d.failure_reason, d.tracking_ended) == ("failed", "Nobody home", True)


def test_another_buyer_cannot_see_the_delivery(claimed):
    d, _ = claimed
    with pytest.raises(NotFound):
        services.delivery_get_visible(user=UserFactory(), delivery_id=d.pk)
    assert services.delivery_get_visible(user=d.order.buyer, delivery_id=d.pk) == d


def test_purge_removes_positions_older_than_retention(claimed):
    d, c = claimed
    now = timezone.now()
    ingest(d, c, [point(now - timedelta(seconds=10), *PICK), point(now - timedelta(seconds=5), PICK[0] + 0.0001, PICK[1])], now=now)
    LocationPoint.objects.filter(delivery=d).update(received_at=now - timedelta(days=61))
    ingest(d, c, [point(now, PICK[0] + 0.0002, PICK[1])], now=now)
    assert services.positions_purge(now=now) == 2
    assert LocationPoint.objects.filter(delivery=d).count() == 1


def test_demo_seed_has_a_delivery_in_progress_once(debug_on):
    import io

    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    # (buyer1's other delivery, courier2's, brought the order the after-sales demo returns)
    d = Delivery.objects.get(order__buyer__email="buyer1@demo.market", status="picked_up")
    assert d.courier.email == "courier1@demo.market"
    assert LocationPoint.objects.filter(delivery=d, kept=True).count() == 5


def test_demo_seed_has_a_delivered_order_inside_its_window_and_one_dispute_once(debug_on):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    delivered = Order.objects.filter(buyer__email="buyer3@demo.market", status="delivered")
    assert delivered.count() == 2
    now = timezone.now()
    for order in delivered:
        escrow = Escrow.objects.get(order=order)
        assert escrow.status == "held" and escrow.release_after > now
        assert Delivery.objects.get(order=order).proof == "pin"
    dispute = Dispute.objects.get()
    assert dispute.status == "open" and dispute.order.buyer.email == "buyer3@demo.market"
    assert dispute.statements.get().role == "store" and dispute.store_responded_at is not None
