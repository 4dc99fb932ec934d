"""Delivery services: delivery attempts created from orders, claiming (by a courier, or by the
store's own staff for self-delivery), the status flow that moves the order, the location stream
with its filters and throttle, proof of delivery, failure and cancellation, stale detection and
retention.

Proof moves the money: the order becomes ``delivered`` only when whoever carries the parcel
completes with the buyer's PIN or single-use QR token (:func:`delivery_complete`), which starts
the buyer-protection window (``commerce.payments.escrow``). Stores cannot set delivery statuses on the
order; they deliver themselves through :func:`delivery_take_by_store` and then need the same
proof.

Attempts: an order has at most one delivery not ended (``delivered``, ``failed``,
``cancelled``). A ``failed`` attempt moves the order to ``delivery_failed``; the store (or staff)
then re-dispatches it (order back to ``ready_for_pickup``: :func:`delivery_create_for_order`
makes attempt n + 1 with a new PIN, which any courier can claim) or cancels it with a full
refund. Cancelling (or fully refunding) an order cancels its open attempt: the courier's slot is
freed and the courier and the buyer are told (``delivery.status_changed`` on ``delivery:<id>``,
``delivery.cancelled`` on their ``user:<id>``, a notification).

Open deliveries (unclaimed, :func:`deliveries_open`) show couriers the pickup point and a coarse
drop-off (the centre of a ``DELIVERY_OPEN_DROPOFF_CELL_M`` grid cell, 1 km, and the city), never
the exact point, the address or the PIN; the assigned courier gets the exact point.

Location filters (Traccar's filter settings; every threshold is a setting), applied per point in
device-time order:

* coordinates outside −90..90 / −180..180, accuracy < 0, speed < 0 → refused (``invalid``);
* ``ts`` more than ``DELIVERY_MAX_FUTURE_SECONDS`` (30) ahead of the server → refused (``future_timestamp``);
* a ``ts`` already stored for the delivery → dropped (duplicate; batches may arrive twice);
* accuracy worse than ``DELIVERY_MAX_ACCURACY_M`` (100) → stored, not broadcast;
* implied speed from the last kept point above ``DELIVERY_MAX_SPEED_MPS`` (70 m/s, 252 km/h) →
  stored as rejected (``jump``), not part of the path, not broadcast.

Watchers get ``delivery.location`` at most once per ``DELIVERY_BROADCAST_INTERVAL_S`` (2 s) per
delivery, the newest point winning: a point inside the window is kept and a flush (an ETA task,
plus the beat tick) sends the newest one when the window opens. Within
``DELIVERY_ARRIVING_RADIUS_M`` (300 m) of the drop-off the status becomes ``arriving`` by
itself and the buyer is notified. No point for ``DELIVERY_STALE_AFTER_S`` (60 s) →
``delivery.courier_stale``; the next good point → ``delivery.courier_live``.

Lock order: the order, then its delivery row (:func:`_lock_with_order`) wherever the order moves
(status reports, completion, cancellation from the order side); claims, positions and the tick
lock only the delivery row and never move the order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta
from typing import Any, Iterable

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from commerce.orders.permissions import is_order_buyer
from commerce.orders.services import lock_order, order_system_transition
from commerce.stores.models import VendorStaff
from commerce.stores.selectors import pickup_coordinates
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.fields import iso_utc
from core.permissions import is_courier
from core.utils import parse_uuid
from delivery import geo
from delivery.events import (
    DELIVERY_TOPIC,
    DeliveryCancelled,
    DeliveryCourierLive,
    DeliveryCourierStale,
    DeliveryLocation,
    DeliveryStatusChanged,
)
from delivery.models import (
    ACTIVE_STATUSES,
    DELIVERY_MACHINE,
    ENDED_STATUSES,
    CourierProfile,
    Delivery,
    DeliveryMode,
    DeliveryStatus,
    LocationPoint,
)
from delivery.permissions import (
    can_reset_delivery_pin,
    can_take_delivery_for_store,
    can_view_open_delivery,
    can_watch_delivery,
    is_delivery_carrier,
)
from delivery.serializers import DeliveryOutputSerializer, OpenDeliveryOutputSerializer, PositionSerializer
from notifications.kinds import DELIVERY_ARRIVING, IN_APP, register_kind
from notifications.services import notify
from realtime.outbox import publish, revoke_subscription
from realtime.user_topic import USER_TOPIC

DELIVERY_STATUS_CHANGED = register_kind(
    "delivery.status_changed",
    description="Your delivery changed status (courier assigned, picked up, delivered, failed).",
    default_channels=(IN_APP,),
)
DELIVERY_CANCELLED = register_kind(
    "delivery.cancelled",
    description="A delivery you took or were waiting for was cancelled because its order was cancelled.",
    default_channels=(IN_APP,),
)
QR_SALT = "delivery.qr"


def cfg(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# --- creation --------------------------------------------------------------------------------


def _pickup_for(vendor_id) -> tuple[float, float]:
    point = pickup_coordinates(vendor_id=vendor_id)
    if point is not None:
        return point
    lat, lon = getattr(settings, "DELIVERY_DEFAULT_PICKUP", (52.520008, 13.404954))
    return float(lat), float(lon)


def store_pickup_point(vendor_id) -> tuple[float, float]:
    """Where couriers collect store ``vendor_id``'s parcels, ``(latitude, longitude)`` in decimal
    degrees: its pickup point (``commerce.stores.selectors.pickup_coordinates``), else
    ``DELIVERY_DEFAULT_PICKUP``. Provides
    ``commerce.shipping.hooks.store_pickup_point`` (courier fees are measured from here). One
    query."""
    return _pickup_for(vendor_id)


def delivery_create_for_order(*, order) -> Delivery:
    """The open delivery attempt of a locked ``order`` that became ``ready_for_pickup``
    (idempotent: an attempt not ended is returned as is). A new attempt gets the next
    ``attempt`` number (earlier ones stay as history), pickup at the store's pickup point
    as it is now (``commerce.stores.selectors.pickup_coordinates``; fallback
    ``DELIVERY_DEFAULT_PICKUP``, Berlin Mitte; later moves of the point leave the attempt where it
    is), drop-off at the
    order's shipping address coordinates (fallback: the pickup point, so the courier flow still
    works for an address without coordinates), and a new random 4-digit PIN."""
    existing = Delivery.objects.filter(order=order).exclude(status__in=ENDED_STATUSES).first()
    if existing:
        return existing
    previous = Delivery.objects.filter(order=order).order_by("-attempt").values_list("attempt", flat=True).first()
    plat, plon = _pickup_for(order.vendor_id)
    addr = order.shipping_address or {}
    try:
        dlat, dlon = float(addr.get("latitude")), float(addr.get("longitude"))
    except (TypeError, ValueError):
        dlat, dlon = plat, plon
    delivery = Delivery.objects.create(order=order, attempt=(previous or 0) + 1, pickup_lat=plat, pickup_lon=plon,
                                       dropoff_lat=dlat, dropoff_lon=dlon, pin=f"{secrets.randbelow(10_000):04d}")
    return delivery


def delivery_cancel_for_order(*, order, actor=None, reason: str = "order_cancelled") -> Delivery | None:
    """Cancel the open delivery attempt of a *locked* order that was cancelled or refunded in
    full (before pickup: the order map allows nothing else). The courier's slot is freed (a
    cancelled delivery is not active); ``delivery.status_changed`` goes to ``delivery:<id>``,
    ``delivery.cancelled`` ``{id, order_id, order_number, attempt, reason}`` to the courier's and
    the buyer's ``user:`` topics, the courier is notified, and the buyer's subscription ends.
    Returns the cancelled delivery, or None when none was open."""
    open_id = (Delivery.objects.filter(order=order).exclude(status__in=ENDED_STATUSES)
               .values_list("pk", flat=True).first())
    if open_id is None:
        return None
    delivery = _lock(open_id)
    if delivery.tracking_ended:
        return None
    delivery.cancel_reason = (reason or "order_cancelled")[:64]
    _set_status(delivery, DeliveryStatus.CANCELLED, actor=actor, reason=delivery.cancel_reason)
    event = DeliveryCancelled.build(delivery=delivery)
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    if delivery.courier_id:
        publish(topic=USER_TOPIC.name(delivery.courier_id), event=event)
        notify(recipients=[delivery.courier_id], kind=DELIVERY_CANCELLED.name,
               title=f"Delivery of order {order.number} cancelled",
               body="The order was cancelled; do not collect it. The delivery no longer counts among your active ones.",
               data={"delivery_id": str(delivery.pk), "order_id": str(order.pk)}, target=delivery)
    return delivery


def on_order_status_changed(sender=None, *, order, to_status, actor=None, reason: str = "", **kwargs) -> None:
    """Receiver of ``commerce.orders.signals.order_status_changed`` (the order is locked): create a
    delivery attempt when the store marks the order ready for pickup (also a re-dispatch after a
    failed delivery); cancel the open attempt when the order is cancelled or refunded."""
    if to_status == "ready_for_pickup":
        delivery_create_for_order(order=order)
    elif to_status in ("cancelled", "refunded"):
        delivery_cancel_for_order(order=order, actor=actor, reason=reason or to_status)


# --- payloads --------------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds (``2026-11-23T10:00:00.123Z``), as phones send ``ts``."""
    return None if dt is None else iso_utc(dt)


def _position(delivery: Delivery) -> dict[str, Any] | None:
    """The last kept point and what follows from it (values, not yet rendered), or None."""
    if delivery.last_lat is None:
        return None
    distance = geo.haversine_m(delivery.last_lat, delivery.last_lon, delivery.dropoff_lat, delivery.dropoff_lon)
    speeds = list(LocationPoint.objects.filter(delivery=delivery, kept=True, speed_mps__isnull=False)
                  .order_by("-ts").values_list("speed_mps", flat=True)[:5])
    return {
        "lat": delivery.last_lat, "lon": delivery.last_lon, "ts": delivery.last_ts,
        "speed_mps": delivery.last_speed_mps, "heading_deg": delivery.last_heading_deg,
        "distance_m": round(distance, 1),
        "eta_seconds": geo.eta_seconds(distance, speeds, fallback_mps=cfg("DELIVERY_FALLBACK_SPEED_MPS", 5.0)),
    }


def position_data(delivery: Delivery) -> dict[str, Any] | None:
    """``{lat, lon, ts, speed_mps, heading_deg, distance_m, eta_seconds}`` of the last kept point
    (rendered by :class:`delivery.serializers.PositionSerializer`), or None before the first."""
    position = _position(delivery)
    return None if position is None else PositionSerializer(position).data


@dataclass(frozen=True)
class OpenDeliveryView:
    """An unclaimed delivery as couriers browsing see it (rendered by
    :class:`delivery.serializers.OpenDeliveryOutputSerializer`): the drop-off is the centre of its
    ``DELIVERY_OPEN_DROPOFF_CELL_M`` (1,000 m) grid cell (:func:`delivery.geo.coarse_point`) and
    the address's city: never the exact point, the street, the buyer or the PIN."""

    delivery: Delivery

    @property
    def pickup(self) -> dict[str, float]:
        return {"lat": self.delivery.pickup_lat, "lon": self.delivery.pickup_lon}

    @cached_property
    def dropoff_area(self) -> dict[str, Any]:
        d = self.delivery
        cell = cfg("DELIVERY_OPEN_DROPOFF_CELL_M", 1000.0)
        lat, lon = geo.coarse_point(d.dropoff_lat, d.dropoff_lon, cell_m=cell)
        city = str((d.order.shipping_address or {}).get("city") or "")[:100]
        return {"lat": lat, "lon": lon, "cell_m": int(cell), "city": city}

    @property
    def distance_m(self) -> float:
        """Pickup to the area's centre, rounded to 100 m."""
        area = self.dropoff_area
        return round(geo.haversine_m(self.delivery.pickup_lat, self.delivery.pickup_lon, area["lat"], area["lon"]), -2)


def open_delivery_data(delivery: Delivery) -> dict[str, Any]:
    """What a courier browsing open deliveries sees before claiming (REST ``?open=1`` and the
    detail of an unclaimed delivery), rendered by :class:`delivery.serializers.OpenDeliveryOutputSerializer`
    (:class:`OpenDeliveryView`)::

        {"id", "order_number", "status": "pending", "attempt", "mode", "courier": null,
         "pickup": {"lat", "lon"}, "dropoff_area": {"lat", "lon", "cell_m", "city"},
         "distance_m": pickup → area centre, "created_at"}"""
    return OpenDeliveryOutputSerializer(OpenDeliveryView(delivery)).data


@dataclass(frozen=True)
class DeliveryView:
    """A delivery for one watcher (rendered by :class:`delivery.serializers.DeliveryOutputSerializer`):
    ``last_position`` (None when withheld), and ``extra``: the keys that apply to this viewer
    (``path``, ``pin``, ``qr_token``)."""

    delivery: Delivery
    last_position: dict[str, Any] | None
    extra: dict[str, Any]

    @property
    def courier(self) -> dict[str, Any] | None:
        d = self.delivery
        return {"id": d.courier_id, "name": d.courier.display_name or "Courier"} if d.courier_id else None

    @property
    def pickup(self) -> dict[str, float]:
        return {"lat": self.delivery.pickup_lat, "lon": self.delivery.pickup_lon}

    @property
    def dropoff(self) -> dict[str, float]:
        return {"lat": self.delivery.dropoff_lat, "lon": self.delivery.dropoff_lon}

    @property
    def eta_seconds(self) -> int | None:
        return self.last_position["eta_seconds"] if self.last_position else None

    @property
    def distance_m(self) -> float | None:
        return self.last_position["distance_m"] if self.last_position else None


def delivery_data(delivery: Delivery, *, viewer=None, with_path: bool = False, watcher: bool | None = None) -> dict[str, Any]:
    """The delivery payload (REST and topic snapshot) for someone who may watch it
    (``delivery.permissions.can_watch_delivery``, or ``watcher=True`` when the caller selected only deliveries the viewer
    takes part in; a courier who has not claimed it gets :func:`open_delivery_data`), rendered
    by :class:`delivery.serializers.DeliveryOutputSerializer`::

        {"id", "order_id", "order_number", "attempt", "mode": "courier"|"store", "status",
         "courier": {"id", "name"} | null, "pickup": {"lat", "lon"}, "dropoff": {"lat", "lon"},
         "last_position": {...} | null, "eta_seconds", "distance_m", "stale", "tracking_ended",
         "failure_reason", "cancel_reason", "delivered_at", "path"?: [{"lat", "lon", "ts"}],
         "pin"?: "1234", "qr_token"? (the buyer only, until the delivery ends)}

    After it ends (delivered, failed, cancelled) the buyer sees no position or path."""
    if viewer is not None and not (watcher if watcher is not None else can_watch_delivery(viewer, delivery)):
        return open_delivery_data(delivery)
    is_buyer = is_order_buyer(viewer, delivery.order)
    hide = delivery.tracking_ended and is_buyer
    extra: dict[str, Any] = {}
    if with_path and not hide:
        extra["path"] = LocationPoint.objects.filter(delivery=delivery, kept=True).order_by("ts")
    if is_buyer and not delivery.tracking_ended:
        extra["pin"] = delivery.pin
        extra["qr_token"] = qr_token(delivery)
    view = DeliveryView(delivery=delivery, last_position=None if hide else _position(delivery), extra=extra)
    return DeliveryOutputSerializer(view).data


# --- access ----------------------------------------------------------------------------------


def delivery_get_visible(*, user, delivery_id: Any) -> Delivery:
    """The delivery if ``user`` may see it (``delivery.permissions.can_watch_delivery``; or, while
    unclaimed, any courier — who sees only :func:`open_delivery_data`). Raises ``NotFound`` ``delivery_not_found`` otherwise — another
    buyer learns nothing."""
    did = parse_uuid(delivery_id)
    delivery = Delivery.objects.select_related("order", "courier").filter(pk=did).first() if did else None
    if delivery is None:
        raise NotFound("Delivery not found.", code="delivery_not_found")
    if can_watch_delivery(user, delivery) or can_view_open_delivery(user, delivery):
        return delivery
    raise NotFound("Delivery not found.", code="delivery_not_found")


def _check_assigned(delivery: Delivery, user) -> None:
    """Only whoever carries the delivery acts on it (the courier, or the store's staff member
    delivering it). People who may not even see it get ``NotFound`` (nothing to learn from the
    id); the buyer and the store get ``Forbidden`` ``not_assigned``."""
    if is_delivery_carrier(user, delivery):
        return
    if not can_watch_delivery(user, delivery):
        raise NotFound("Delivery not found.", code="delivery_not_found")
    raise Forbidden("You are not this delivery's courier.", code="not_assigned")


def _lock(delivery_id: Any) -> Delivery:
    did = parse_uuid(delivery_id)
    delivery = (Delivery.objects.select_for_update(of=("self",)).select_related("order", "courier")
                .filter(pk=did).first() if did else None)
    if delivery is None:
        raise NotFound("Delivery not found.", code="delivery_not_found")
    return delivery


def _lock_with_order(delivery_id: Any) -> Delivery:
    """Lock the delivery's order, then the delivery (the order first, as every order mover
    does). Raises ``NotFound`` ``delivery_not_found``."""
    did = parse_uuid(delivery_id)
    order_id = Delivery.objects.filter(pk=did).values_list("order_id", flat=True).first() if did else None
    if order_id is None:
        raise NotFound("Delivery not found.", code="delivery_not_found")
    order = lock_order(order_id)
    delivery = _lock(did)
    delivery.order = order
    return delivery


# --- couriers --------------------------------------------------------------------------------


def courier_set_profile(*, user, online: bool | None = None, vehicle_type: str | None = None) -> CourierProfile:
    """Set the courier's online flag and vehicle. Raises ``Forbidden`` ``not_courier``."""
    if not is_courier(user):
        raise Forbidden("Only couriers have a courier profile.", code="not_courier")
    profile, _ = CourierProfile.objects.get_or_create(user=user)
    if online is not None:
        profile.online = bool(online)
    if vehicle_type is not None:
        profile.vehicle_type = vehicle_type
    profile.save()
    return profile


def deliveries_open(*, user, lat: float | None = None, lon: float | None = None) -> list[Delivery]:
    """Unclaimed deliveries for a courier, nearest pickup first when the courier's position is
    given (else oldest first); render them with :func:`open_delivery_data`. Raises ``Forbidden``
    ``not_courier``."""
    if not is_courier(user):
        raise Forbidden("Only couriers see open deliveries.", code="not_courier")
    items = list(Delivery.objects.select_related("order", "courier").filter(status=DeliveryStatus.PENDING)
                 .order_by("created_at")[:200])
    if lat is not None and lon is not None:
        items.sort(key=lambda d: geo.haversine_m(lat, lon, d.pickup_lat, d.pickup_lon))
    return items


def delivery_claim(*, courier, delivery_id: Any, now: datetime | None = None) -> Delivery:
    """A courier claims an open delivery. Under the delivery's row lock: another courier's claim
    → ``Conflict`` ``already_claimed`` (a delivery cancelled before anyone claimed it:
    ``core.fsm.InvalidTransition``); at most ``DELIVERY_MAX_ACTIVE_PER_COURIER`` (5) active →
    ``Conflict`` ``too_many_active`` (checked under a lock on the courier's profile row, so two
    parallel claims cannot both pass); not a courier → ``Forbidden`` ``not_courier``."""
    if not is_courier(courier):
        raise Forbidden("Only couriers may claim deliveries.", code="not_courier")
    now = now or timezone.now()
    with transaction.atomic():
        CourierProfile.objects.get_or_create(user=courier)
        CourierProfile.objects.select_for_update().get(user=courier)  # serialises this courier's claims
        delivery = _lock(delivery_id)
        _check_claimable(delivery)
        active = Delivery.objects.filter(courier=courier, status__in=ACTIVE_STATUSES).count()
        if active >= int(cfg("DELIVERY_MAX_ACTIVE_PER_COURIER", 5)):
            raise Conflict(f"You have {active} active deliveries; finish one first.", code="too_many_active")
        delivery.courier = courier
        delivery.claimed_at = now
        _set_status(delivery, DeliveryStatus.ASSIGNED, actor=courier)
        return delivery


def delivery_take_by_store(*, user, delivery_id: Any, now: datetime | None = None) -> Delivery:
    """Store self-delivery: a staff member of the order's (active) store takes an unclaimed
    delivery and carries it themselves (``mode`` ``store``). From then on they act as its courier
    — pickup, positions, failure — and complete it only with the buyer's PIN or QR, like any
    courier (the courier cap does not apply: they are not marketplace couriers).

    Raises ``NotFound`` ``delivery_not_found`` (not visible), ``Forbidden``
    ``not_store_staff`` (the buyer, staff, a courier), ``Conflict`` ``already_claimed``."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = _lock(delivery_id)
        if not can_watch_delivery(user, delivery):
            raise NotFound("Delivery not found.", code="delivery_not_found")
        if not can_take_delivery_for_store(user, delivery):
            raise Forbidden("Only the store's staff deliver its orders themselves.", code="not_store_staff")
        _check_claimable(delivery)
        delivery.courier, delivery.mode, delivery.claimed_at = user, DeliveryMode.STORE, now
        _set_status(delivery, DeliveryStatus.ASSIGNED, actor=user, reason="store_delivery")
        return delivery


def _check_claimable(delivery: Delivery) -> None:
    """A claim (by a courier or the store) moves a locked ``pending`` delivery to ``assigned``.
    Someone else was first: ``Conflict`` ``already_claimed``; any other status (cancelled before
    anyone claimed it): ``core.fsm.InvalidTransition``."""
    if delivery.status != DeliveryStatus.PENDING and delivery.courier_id is not None:
        raise Conflict("Another courier has this delivery.", code="already_claimed")
    DELIVERY_MACHINE.check(delivery.status, DeliveryStatus.ASSIGNED)


def _store_staff_ids(delivery: Delivery) -> list:
    return list(VendorStaff.objects.filter(vendor_id=delivery.order.vendor_id).values_list("user_id", flat=True))


def _set_status(delivery: Delivery, status: str, *, actor=None, reason: str = "") -> None:
    """Move a locked delivery along the map, publish ``delivery.status_changed``, notify the
    buyer (and on failure the store's staff, who re-dispatch or cancel), and move the order:
    picked_up → ``out_for_delivery``, delivered → ``delivered``, failed → ``delivery_failed``
    (through ``commerce.orders.services.order_system_transition``; ``cancelled`` follows the order and
    moves nothing)."""
    DELIVERY_MACHINE.check(delivery.status, status)
    previous = delivery.status
    delivery.status = status
    if status == DeliveryStatus.FAILED:
        delivery.failure_reason = reason[:200]
    delivery.save()
    publish(topic=DELIVERY_TOPIC.name(delivery.pk),
            event=DeliveryStatusChanged.build(delivery=delivery, previous=previous, reason=reason))
    if status == DeliveryStatus.PICKED_UP and delivery.order.status != "out_for_delivery":
        # (an order a store moved out_for_delivery itself before that became the delivery's
        # move is already there: the pickup moves nothing)
        order_system_transition(order_id=delivery.order_id, to_status="out_for_delivery", actor=actor, reason="picked_up")
    elif status == DeliveryStatus.DELIVERED:
        order_system_transition(order_id=delivery.order_id, to_status="delivered", actor=actor, reason=delivery.proof,
                                at=delivery.delivered_at)
    elif status == DeliveryStatus.FAILED:
        order_system_transition(order_id=delivery.order_id, to_status="delivery_failed", actor=actor,
                                reason=f"delivery_failed: {reason}"[:200])
        notify(recipients=_store_staff_ids(delivery), kind=DELIVERY_STATUS_CHANGED.name,
               title=f"Delivery of order {delivery.order.number} failed",
               body=f"{reason} Send it out again (ready for pickup) or cancel the order with a refund.",
               data={"delivery_id": str(delivery.pk), "order_id": str(delivery.order_id), "status": status},
               target=delivery)
    if status == DeliveryStatus.ARRIVING:
        notify(recipients=[delivery.order.buyer_id], kind=DELIVERY_ARRIVING.name,
               title=f"Your courier is arriving (order {delivery.order.number})",
               body="Have your PIN ready.", data={"delivery_id": str(delivery.pk)}, target=delivery)
    elif status not in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED):
        # delivered / cancelled: the order's own notification says it
        notify(recipients=[delivery.order.buyer_id], kind=DELIVERY_STATUS_CHANGED.name,
               title=f"Delivery of order {delivery.order.number}: {DeliveryStatus(status).label.lower()}",
               body=reason, data={"delivery_id": str(delivery.pk), "status": status}, target=delivery)
    if status in ENDED_STATUSES:
        revoke_subscription(user_id=delivery.order.buyer_id, topic=DELIVERY_TOPIC.name(delivery.pk), reason="tracking_ended")


def delivery_set_status(*, courier, delivery_id: Any, status: str, reason: str = "") -> Delivery:
    """Whoever carries the delivery (the assigned courier, or the store's staff member in
    ``store`` mode) reports ``picked_up``, ``en_route``, ``arriving`` or ``failed`` (with a
    reason; the order goes ``delivery_failed``). ``delivered`` needs proof:
    :func:`delivery_complete`. Raises ``NotFound``, ``Forbidden`` ``not_assigned``, ``Conflict``
    ``invalid_transition`` / ``proof_required``, ``ApplicationError`` ``invalid`` (a failure
    without a reason)."""
    with transaction.atomic():
        delivery = _lock_with_order(delivery_id)
        _check_assigned(delivery, courier)
        if status == DeliveryStatus.DELIVERED:
            raise Conflict("Complete a delivery with the buyer's PIN or QR code.", code="proof_required")
        if status == DeliveryStatus.FAILED and not reason.strip():
            raise ApplicationError("Say why the delivery failed.", code="invalid", fields={"reason": ["Required."]})
        _set_status(delivery, status, actor=courier, reason=reason.strip())
        return delivery


def qr_token(delivery: Delivery) -> str:
    """The buyer's single-use QR proof: a signed (``django.core.signing``) token naming the
    delivery."""
    return signing.dumps({"d": str(delivery.pk)}, salt=QR_SALT)


def delivery_complete(*, courier, delivery_id: Any, pin: str | None = None, qr: str | None = None,
                      now: datetime | None = None) -> Delivery:
    """Proof of delivery by whoever carries it (the assigned courier, or the store's staff member
    in ``store`` mode): the buyer's 4-digit ``pin`` or their signed ``qr`` token (single use,
    bound to this attempt). The order becomes ``delivered`` and its buyer-protection window
    starts. A wrong PIN is counted (committed) before it is refused; after
    ``DELIVERY_PIN_MAX_ATTEMPTS`` (5) the PIN is locked (``Conflict`` ``pin_locked``) until staff
    reset it. Raises ``Conflict`` ``wrong_pin`` (with ``attempts_left``), ``invalid_qr``,
    ``invalid_transition``; ``Forbidden`` ``not_assigned``."""
    now = now or timezone.now()
    refusal: ApplicationError | None = None
    with transaction.atomic():
        delivery = _lock_with_order(delivery_id)
        _check_assigned(delivery, courier)
        DELIVERY_MACHINE.check(delivery.status, DeliveryStatus.DELIVERED,
                               detail=f"A delivery cannot be completed while {delivery.status}.")
        if qr:
            try:
                payload = signing.loads(qr, salt=QR_SALT, max_age=7 * 24 * 3600)
            except signing.BadSignature:
                payload = None
            if not isinstance(payload, dict) or payload.get("d") != str(delivery.pk) or delivery.qr_used:
                raise Conflict("This QR code is not valid for this delivery.", code="invalid_qr")
            delivery.qr_used, delivery.proof = True, "qr"
        elif delivery.pin_locked:
            raise Conflict("Too many wrong PINs; support must reset it.", code="pin_locked")
        elif not isinstance(pin, str) or not secrets.compare_digest(pin.encode(), delivery.pin.encode()):
            delivery.pin_attempts += 1
            limit = int(cfg("DELIVERY_PIN_MAX_ATTEMPTS", 5))
            delivery.pin_locked = delivery.pin_attempts >= limit
            delivery.save(update_fields=["pin_attempts", "pin_locked", "updated_at"])
            refusal = (Conflict("Too many wrong PINs; support must reset it.", code="pin_locked") if delivery.pin_locked
                       else Conflict("Wrong PIN.", code="wrong_pin", extra={"attempts_left": limit - delivery.pin_attempts}))
        else:
            delivery.proof = "pin"
        if refusal is None:
            delivery.delivered_at = now
            _set_status(delivery, DeliveryStatus.DELIVERED, actor=courier)
    if refusal is not None:
        raise refusal  # after the commit: the attempt counts
    return delivery


def delivery_reset_pin(*, user, delivery_id: Any) -> Delivery:
    """Marketplace admins unlock a delivery's PIN (attempts back to 0). Raises ``Forbidden``
    ``staff_only``."""
    if not can_reset_delivery_pin(user):
        raise Forbidden("Only staff may reset a PIN.", code="staff_only")
    with transaction.atomic():
        delivery = _lock(delivery_id)
        delivery.pin_attempts, delivery.pin_locked = 0, False
        delivery.save(update_fields=["pin_attempts", "pin_locked", "updated_at"])
        return delivery


# --- location stream -------------------------------------------------------------------------


@dataclass
class IngestResult:
    """What a batch did: points ``kept`` (path), ``rejected`` (jumps), ``dropped`` (duplicates),
    ``hidden`` (inaccurate: kept, not broadcast), and whether a broadcast was sent or deferred."""

    kept: int = 0
    rejected: int = 0
    dropped: int = 0
    hidden: int = 0
    broadcast: bool = False
    deferred: bool = False


def _invalid(msg: str, field: str) -> ApplicationError:
    return ApplicationError(msg, code="invalid", fields={field: [msg]})


def _clean_point(raw: Any, *, now: datetime) -> dict[str, Any]:
    """Validate one point ``{ts, lat, lon, accuracy_m, speed_mps?, heading_deg?}``."""
    if not isinstance(raw, dict):
        raise _invalid("Each point must be an object.", "points")

    def num(name: str, lo: float, hi: float, required: bool = True) -> float | None:
        v = raw.get(name)
        if v is None and not required:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or not lo <= v <= hi:
            raise _invalid(f"{name} must be a number between {lo} and {hi}.", name)
        return float(v)

    ts = parse_datetime(raw["ts"]) if isinstance(raw.get("ts"), str) else None
    if ts is None or ts.tzinfo is None:
        raise _invalid("ts must be an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z.", "ts")
    if ts > now + timedelta(seconds=cfg("DELIVERY_MAX_FUTURE_SECONDS", 30)):
        raise ApplicationError("ts is in the future; check the phone's clock.", code="future_timestamp",
                               fields={"ts": ["More than 30 s ahead of the server."]})
    return {
        "ts": ts, "lat": num("lat", -90, 90), "lon": num("lon", -180, 180),
        "accuracy_m": num("accuracy_m", 0, 100_000), "speed_mps": num("speed_mps", 0, 1000, required=False),
        "heading_deg": num("heading_deg", 0, 360, required=False),
    }


def delivery_ingest_locations(*, courier, delivery_id: Any, points: Iterable[Any], now: datetime | None = None) -> IngestResult:
    """Store a batch of positions from the assigned courier (socket ``location`` sends one, the
    REST upload many; out of order and repeated batches are fine) and update what watchers see.
    Positions are accepted from ``assigned`` on. Raises ``NotFound``, ``Forbidden``
    ``not_assigned``, ``Conflict`` ``tracking_ended`` (after delivered/failed), ``ApplicationError``
    ``invalid`` / ``future_timestamp`` (the whole batch is refused, nothing stored)."""
    now = now or timezone.now()
    points = list(points)
    if not points or len(points) > 500:
        raise _invalid("Send 1 to 500 points.", "points")
    cleaned = sorted((_clean_point(p, now=now) for p in points), key=lambda p: p["ts"])
    result = IngestResult()
    with transaction.atomic():
        delivery = _lock(delivery_id)
        _check_assigned(delivery, courier)
        if delivery.tracking_ended:
            raise Conflict("Tracking of this delivery has ended.", code="tracking_ended")
        existing = set(LocationPoint.objects.filter(delivery=delivery, ts__in=[p["ts"] for p in cleaned])
                       .values_list("ts", flat=True))
        last = (LocationPoint.objects.filter(delivery=delivery, kept=True, ts__lt=cleaned[0]["ts"]).order_by("-ts").first())
        rows = []
        newest = None
        max_speed = cfg("DELIVERY_MAX_SPEED_MPS", 70.0)
        max_acc = cfg("DELIVERY_MAX_ACCURACY_M", 100.0)
        seen = set()
        for p in cleaned:
            if p["ts"] in existing or p["ts"] in seen:
                result.dropped += 1
                continue
            seen.add(p["ts"])
            row = LocationPoint(delivery=delivery, received_at=now, **p)
            if last is not None:
                dt = (p["ts"] - last.ts).total_seconds()
                dist = geo.haversine_m(last.lat, last.lon, p["lat"], p["lon"])
                if dt > 0 and dist / dt > max_speed:
                    row.kept, row.broadcastable, row.reject_reason = False, False, "jump"
            if row.kept:
                if p["accuracy_m"] > max_acc:
                    row.broadcastable = False
                    result.hidden += 1
                last = row
                result.kept += 1
                if delivery.last_ts is None or row.ts > delivery.last_ts:
                    newest = row
            else:
                result.rejected += 1
            rows.append(row)
        LocationPoint.objects.bulk_create(rows)
        if newest is not None:
            delivery.last_lat, delivery.last_lon, delivery.last_ts = newest.lat, newest.lon, newest.ts
            delivery.last_speed_mps, delivery.last_heading_deg = newest.speed_mps, newest.heading_deg
            delivery.last_received_at = now
            if delivery.stale:
                delivery.stale = False
                publish(topic=DELIVERY_TOPIC.name(delivery.pk), event=DeliveryCourierLive.build(delivery=delivery, ts=newest.ts))
            delivery.save()
            if newest.broadcastable:
                if _window_open(delivery, now):
                    _broadcast(delivery, now)
                    result.broadcast = True
                else:
                    result.deferred = True
                    _schedule_flush(delivery, now)
            radius = cfg("DELIVERY_ARRIVING_RADIUS_M", 300.0)
            near = geo.haversine_m(newest.lat, newest.lon, delivery.dropoff_lat, delivery.dropoff_lon) <= radius
            if near and delivery.status in (DeliveryStatus.PICKED_UP, DeliveryStatus.EN_ROUTE):
                _set_status(delivery, DeliveryStatus.ARRIVING, actor=courier, reason="within_radius")
        return result


def _window_open(delivery: Delivery, now: datetime) -> bool:
    interval = cfg("DELIVERY_BROADCAST_INTERVAL_S", 2.0)
    return delivery.broadcast_at is None or (now - delivery.broadcast_at).total_seconds() >= interval


def _broadcast(delivery: Delivery, now: datetime) -> None:
    """Publish the newest broadcastable kept point as ``delivery.location``."""
    point = (LocationPoint.objects.filter(delivery=delivery, kept=True, broadcastable=True)
             .order_by("-ts").first())
    if point is None or (delivery.broadcast_ts and point.ts <= delivery.broadcast_ts):
        return
    distance = geo.haversine_m(point.lat, point.lon, delivery.dropoff_lat, delivery.dropoff_lon)
    pos = position_data(delivery) or {}
    eta = pos.get("eta_seconds") if point.ts == delivery.last_ts else geo.eta_seconds(
        distance, [point.speed_mps or 0], fallback_mps=cfg("DELIVERY_FALLBACK_SPEED_MPS", 5.0))
    publish(topic=DELIVERY_TOPIC.name(delivery.pk),
            event=DeliveryLocation.build(delivery=delivery, point=point, distance_m=distance, eta_seconds=eta))
    delivery.broadcast_at, delivery.broadcast_ts = now, point.ts
    delivery.save(update_fields=["broadcast_at", "broadcast_ts", "updated_at"])


def _schedule_flush(delivery: Delivery, now: datetime) -> None:
    eta = (delivery.broadcast_at or now) + timedelta(seconds=cfg("DELIVERY_BROADCAST_INTERVAL_S", 2.0))
    did = str(delivery.pk)

    def send() -> None:
        from delivery.tasks import flush_location  # cycle-breaker: the task runs this module

        try:
            flush_location.apply_async(args=[did], eta=eta)
        except Exception:  # noqa: BLE001 - the beat tick flushes anyway
            pass

    transaction.on_commit(send, robust=True)


def delivery_flush_location(*, delivery_id: Any, now: datetime | None = None) -> bool:
    """Send the newest point held back by the throttle once the window is open (idempotent)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = _lock(delivery_id)
        if delivery.tracking_ended or not _window_open(delivery, now):
            return False
        before = delivery.broadcast_ts
        _broadcast(delivery, now)
        return delivery.broadcast_ts != before


def deliveries_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every second: flush held-back points; mark couriers silent for
    ``DELIVERY_STALE_AFTER_S`` (60 s) stale (``delivery.courier_stale``)."""
    now = now or timezone.now()
    flushed = stale = 0
    interval = timedelta(seconds=cfg("DELIVERY_BROADCAST_INTERVAL_S", 2.0))
    pending = Delivery.objects.filter(status__in=ACTIVE_STATUSES, last_ts__isnull=False).filter(
        Q(broadcast_ts__isnull=True) | Q(broadcast_ts__lt=F("last_ts")), broadcast_at__lte=now - interval
    ).values_list("pk", flat=True)
    for did in list(pending)[:500]:
        flushed += int(delivery_flush_location(delivery_id=did, now=now))
    cutoff = now - timedelta(seconds=cfg("DELIVERY_STALE_AFTER_S", 60.0))
    for did in list(Delivery.objects.filter(status__in=ACTIVE_STATUSES, stale=False, last_received_at__lt=cutoff)
                    .values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            d = _lock(did)
            if d.stale or d.last_received_at is None or d.last_received_at >= cutoff or d.tracking_ended:
                continue
            d.stale = True
            d.save(update_fields=["stale", "updated_at"])
            publish(topic=DELIVERY_TOPIC.name(d.pk), event=DeliveryCourierStale.build(delivery=d, now=now))
            stale += 1
    return {"flushed": flushed, "stale": stale}


def positions_purge(*, now: datetime | None = None) -> int:
    """Delete positions older than ``DELIVERY_POSITION_RETENTION_DAYS`` (60). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=cfg("DELIVERY_POSITION_RETENTION_DAYS", 60))
    deleted, _ = LocationPoint.objects.filter(received_at__lt=cutoff).delete()
    return deleted
