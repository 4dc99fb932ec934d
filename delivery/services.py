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

Positions are Redis-first (``delivery.tracking``): the socket ``location`` command
(:func:`delivery_track`, on the event loop) and the REST upload (:func:`delivery_ingest_locations`,
under the delivery's row lock) run one Redis script per point, which applies the filters against
the last accepted point kept in Redis, keeps the last position, the throttle's state and the
ETA's inputs there, and appends the point to a Redis Stream; the points reach PostgreSQL in
batches within a second (the upload also writes its own at once). Filters (Traccar's filter
settings; every threshold is a setting), per point in device-time order:

* coordinates outside −90..90 / −180..180, accuracy < 0, speed < 0 → refused (``invalid``);
* ``ts`` more than ``DELIVERY_MAX_FUTURE_SECONDS`` (30) ahead of the server → refused (``future_timestamp``);
* a ``ts`` already accepted for the delivery → dropped (duplicate; batches may arrive twice);
* accuracy worse than ``DELIVERY_MAX_ACCURACY_M`` (100) → stored, not broadcast;
* implied speed from the last kept point above ``DELIVERY_MAX_SPEED_MPS`` (70 m/s, 252 km/h) →
  stored as rejected (``jump``), not part of the path, not broadcast.

Watchers get ``delivery.location`` at most once per ``DELIVERY_BROADCAST_INTERVAL_S`` (2 s) per
delivery, the newest point winning, on a fixed 2 s grid: a point inside the window waits in
Redis and the gateway's worker, which wakes when the earliest window opens, sends the newest one
(the beat tick is the backstop; no task per point). Within ``DELIVERY_ARRIVING_RADIUS_M`` (300 m) of the drop-off the status
becomes ``arriving`` by itself and the buyer is notified. No point for
``DELIVERY_STALE_AFTER_S`` (60 s) → ``delivery.courier_stale``; the next good point →
``delivery.courier_live``. These status changes run in transactions under the row lock.

Returns: a ``return`` delivery (``kind``) carries lines of a delivered order back to the store
(``commerce.returns``): created when the buyer asks for a courier (the returns room's
``return_pickup_requested`` signal, :func:`delivery_create_for_return`) with the pickup at the
order's address and the drop-off at the store's pickup point; the PIN and QR are the store's
staff's, and the courier completes at the store with them. Its moves call the returns room
instead of moving the order: picked up → the return is ``in_transit``, delivered with proof →
``received``, failed → the returns room decides (``commerce.returns.services``). Until claimed,
couriers see only the pickup's grid cell, as they see an order's drop-off.

Lock order: the order, then its delivery row (:func:`_lock_with_order`) wherever the order moves
(status reports, completion, cancellation from the order side), then a return's row (the
returns room's services, called back); claims, positions and the tick lock only the delivery
row and never move the order.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta
from typing import Any, Iterable

import redis
from django.conf import settings
from django.core import signing
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from commerce.orders.permissions import is_order_buyer
from commerce.orders.services import lock_order, order_system_transition
from commerce.returns import services as returns
from commerce.stores.models import VendorStaff
from commerce.stores.selectors import pickup_coordinates
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.fields import iso_utc
from core.permissions import is_active_user, is_courier
from core.utils import parse_uuid
from delivery import geo, tracking
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
    DeliveryKind,
    DeliveryMode,
    DeliveryStatus,
    LocationPoint,
)
from delivery.permissions import (
    can_reset_delivery_pin,
    can_track_delivery,
    can_take_delivery_for_store,
    can_view_open_delivery,
    can_watch_delivery,
    is_delivery_carrier,
    is_delivery_receiver,
)
from delivery.serializers import DeliveryOutputSerializer, OpenDeliveryOutputSerializer, PositionSerializer
from notifications.kinds import DELIVERY_ARRIVING, IN_APP, register_kind
from notifications.services import notify
from realtime import direct
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
logger = logging.getLogger(__name__)


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
    orders = Delivery.objects.filter(order=order, kind=DeliveryKind.ORDER)
    existing = orders.exclude(status__in=ENDED_STATUSES).first()
    if existing:
        return existing
    previous = orders.order_by("-attempt").values_list("attempt", flat=True).first()
    plat, plon = _pickup_for(order.vendor_id)
    dlat, dlon = _address_point(order, fallback=(plat, plon))
    delivery = Delivery.objects.create(order=order, attempt=(previous or 0) + 1, pickup_lat=plat, pickup_lon=plon,
                                       dropoff_lat=dlat, dropoff_lon=dlon, pin=f"{secrets.randbelow(10_000):04d}")
    return delivery


def _address_point(order, *, fallback: tuple[float, float]) -> tuple[float, float]:
    """The coordinates of the order's shipping address, or ``fallback`` when it has none."""
    addr = order.shipping_address or {}
    try:
        return float(addr.get("latitude")), float(addr.get("longitude"))
    except (TypeError, ValueError):
        return fallback


def delivery_create_for_return(*, return_request) -> Delivery:
    """The open return delivery of an approved return (its order locked by the returns room;
    idempotent: one not ended is returned as is): pickup at the order's shipping address (the
    buyer's), drop-off at the store's :class:`PickupPoint` (fallback ``DELIVERY_DEFAULT_PICKUP``),
    a new random 4-digit PIN that the store's staff give the courier at the store. Attempts are
    numbered per return."""
    mine = Delivery.objects.filter(return_request=return_request)
    existing = mine.exclude(status__in=ENDED_STATUSES).first()
    if existing:
        return existing
    previous = mine.order_by("-attempt").values_list("attempt", flat=True).first()
    order = return_request.order
    dlat, dlon = _pickup_for(order.vendor_id)
    plat, plon = _address_point(order, fallback=(dlat, dlon))
    return Delivery.objects.create(order=order, kind=DeliveryKind.RETURN, return_request=return_request,
                                   attempt=(previous or 0) + 1, pickup_lat=plat, pickup_lon=plon, dropoff_lat=dlat,
                                   dropoff_lon=dlon, pin=f"{secrets.randbelow(10_000):04d}")


def delivery_cancel_for_order(*, order, actor=None, reason: str = "order_cancelled") -> Delivery | None:
    """Cancel the open delivery attempt of a *locked* order that was cancelled or refunded in
    full (before pickup: the order map allows nothing else). The courier's slot is freed (a
    cancelled delivery is not active); ``delivery.status_changed`` goes to ``delivery:<id>``,
    ``delivery.cancelled`` ``{id, order_id, order_number, attempt, reason}`` to the courier's and
    the buyer's ``user:`` topics, the courier is notified, and the buyer's subscription ends.
    Returns the cancelled delivery, or None when none was open. (A return delivery is cancelled
    by its return, :func:`on_return_pickup_cancelled`.)"""
    open_id = (Delivery.objects.filter(order=order, kind=DeliveryKind.ORDER).exclude(status__in=ENDED_STATUSES)
               .values_list("pk", flat=True).first())
    return _cancel_open(open_id, order=order, actor=actor, reason=reason or "order_cancelled")


def _cancel_open(open_id, *, order, actor, reason: str) -> Delivery | None:
    """Cancel the delivery ``open_id`` of a locked ``order`` if it has not ended: the events and
    notifications of :func:`delivery_cancel_for_order`."""
    if open_id is None:
        return None
    delivery = _lock(open_id)
    if delivery.tracking_ended:
        return None
    delivery.cancel_reason = reason[:64]
    _set_status(delivery, DeliveryStatus.CANCELLED, actor=actor, reason=delivery.cancel_reason)
    event = DeliveryCancelled.build(delivery=delivery)
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    if delivery.courier_id:
        publish(topic=USER_TOPIC.name(delivery.courier_id), event=event)
        what = "return" if delivery.is_return else "order"
        notify(recipients=[delivery.courier_id], kind=DELIVERY_CANCELLED.name,
               title=f"Delivery of {'a return of ' if delivery.is_return else ''}order {order.number} cancelled",
               body=f"The {what} was cancelled; do not collect it. The delivery no longer counts among your active ones.",
               data={"delivery_id": str(delivery.pk), "order_id": str(order.pk)}, target=delivery)
    return delivery


def on_return_pickup_requested(sender=None, *, return_request, **kwargs) -> Any:
    """Receiver of ``commerce.returns.signals.return_pickup_requested`` (the order and the return
    are locked): create the return delivery; its id is the answer."""
    return delivery_create_for_return(return_request=return_request).pk


def on_return_pickup_cancelled(sender=None, *, return_request, actor=None, reason: str = "", **kwargs) -> None:
    """Receiver of ``commerce.returns.signals.return_pickup_cancelled`` (the order and the return
    are locked): cancel the return's open delivery (before the pickup; the courier is told)."""
    open_id = (Delivery.objects.filter(return_request=return_request).exclude(status__in=ENDED_STATUSES)
               .values_list("pk", flat=True).first())
    _cancel_open(open_id, order=return_request.order, actor=actor, reason=reason or "return_cancelled")


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
    """The last kept point and what follows from it (values, not yet rendered), or None: from
    Redis (``delivery.tracking.last_position``: current to the last accepted point), else from
    the database's ``last_*`` columns (written in batches, at most about a second behind)."""
    try:
        last = tracking.last_position(delivery.pk)
    except redis.RedisError:
        last = None
    if last is None and delivery.last_lat is None:
        return None
    if last is None or (delivery.last_ts is not None and delivery.last_ts > last["ts"]):
        speeds = list(LocationPoint.objects.filter(delivery=delivery, kept=True, speed_mps__isnull=False)
                      .order_by("-ts").values_list("speed_mps", flat=True)[:5])
        last = {"lat": delivery.last_lat, "lon": delivery.last_lon, "ts": delivery.last_ts, "speeds": speeds,
                "speed_mps": delivery.last_speed_mps, "heading_deg": delivery.last_heading_deg}
    distance = geo.haversine_m(last["lat"], last["lon"], delivery.dropoff_lat, delivery.dropoff_lon)
    return {
        "lat": last["lat"], "lon": last["lon"], "ts": last["ts"],
        "speed_mps": last["speed_mps"], "heading_deg": last["heading_deg"],
        "distance_m": round(distance, 1),
        "eta_seconds": geo.eta_seconds(distance, last["speeds"], fallback_mps=cfg("DELIVERY_FALLBACK_SPEED_MPS", 5.0)),
    }


def open_pickup_point(delivery: Delivery) -> tuple[float, float]:
    """Where an unclaimed delivery starts, as couriers browsing may see it: the store's pickup
    point of an order; for a return (the buyer's address) the centre of its grid cell."""
    if delivery.is_return:
        return geo.coarse_point(delivery.pickup_lat, delivery.pickup_lon, cell_m=cfg("DELIVERY_OPEN_DROPOFF_CELL_M", 1000.0))
    return delivery.pickup_lat, delivery.pickup_lon


def position_data(delivery: Delivery) -> dict[str, Any] | None:
    """``{lat, lon, ts, speed_mps, heading_deg, distance_m, eta_seconds}`` of the last kept point
    (rendered by :class:`delivery.serializers.PositionSerializer`), or None before the first."""
    position = _position(delivery)
    return None if position is None else PositionSerializer(position).data


@dataclass(frozen=True)
class OpenDeliveryView:
    """An unclaimed delivery as couriers browsing see it (rendered by
    :class:`delivery.serializers.OpenDeliveryOutputSerializer`). The buyer's side is never exact:
    an order's drop-off (``dropoff_area``) and a return's pickup (``pickup`` and ``pickup_area``)
    are the centre of their ``DELIVERY_OPEN_DROPOFF_CELL_M`` (1,000 m) grid cell
    (:func:`delivery.geo.coarse_point`) and the address's city: never the exact point, the
    street, the buyer or the PIN. The store's side is exact: an order's pickup, a return's
    drop-off (``dropoff_area`` with ``cell_m`` 0)."""

    delivery: Delivery

    @cached_property
    def _cell(self) -> float:
        return cfg("DELIVERY_OPEN_DROPOFF_CELL_M", 1000.0)

    @cached_property
    def _city(self) -> str:
        return str((self.delivery.order.shipping_address or {}).get("city") or "")[:100]

    @property
    def pickup(self) -> dict[str, float]:
        lat, lon = open_pickup_point(self.delivery)
        return {"lat": lat, "lon": lon}

    @property
    def pickup_area(self) -> dict[str, Any] | None:
        if not self.delivery.is_return:
            return None
        return {**self.pickup, "cell_m": int(self._cell), "city": self._city}

    @cached_property
    def dropoff_area(self) -> dict[str, Any]:
        d = self.delivery
        if d.is_return:
            return {"lat": d.dropoff_lat, "lon": d.dropoff_lon, "cell_m": 0, "city": ""}
        lat, lon = geo.coarse_point(d.dropoff_lat, d.dropoff_lon, cell_m=self._cell)
        return {"lat": lat, "lon": lon, "cell_m": int(self._cell), "city": self._city}

    @property
    def distance_m(self) -> float:
        """Pickup to the drop-off area's centre, rounded to 100 m."""
        pickup, area = self.pickup, self.dropoff_area
        return round(geo.haversine_m(pickup["lat"], pickup["lon"], area["lat"], area["lon"]), -2)


def open_delivery_data(delivery: Delivery) -> dict[str, Any]:
    """What a courier browsing open deliveries sees before claiming (REST ``?open=1`` and the
    detail of an unclaimed delivery), rendered by :class:`delivery.serializers.OpenDeliveryOutputSerializer`
    (:class:`OpenDeliveryView`)::

        {"id", "kind": "order"|"return", "order_number", "status": "pending", "attempt", "mode",
         "courier": null, "pickup": {"lat", "lon"}, "pickup_area": {...} | null,
         "dropoff_area": {"lat", "lon", "cell_m", "city"}, "distance_m": pickup → drop-off,
         "created_at"}

    What is exact and what is coarse: :class:`OpenDeliveryView`."""
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

        {"id", "kind": "order"|"return", "return_id", "order_id", "order_number", "attempt",
         "mode": "courier"|"store", "status",
         "courier": {"id", "name"} | null, "pickup": {"lat", "lon"}, "dropoff": {"lat", "lon"},
         "last_position": {...} | null, "eta_seconds", "distance_m", "stale", "tracking_ended",
         "failure_reason", "cancel_reason", "delivered_at", "path"?: [{"lat", "lon", "ts"}],
         "pin"?: "1234", "qr_token"? (the receiver only — the buyer of an order, the store's
         return handlers for a return — until the delivery ends)}

    After it ends (delivered, failed, cancelled) the buyer sees no position or path."""
    if viewer is not None and not (watcher if watcher is not None else can_watch_delivery(viewer, delivery)):
        return open_delivery_data(delivery)
    is_buyer = is_order_buyer(viewer, delivery.order)
    hide = delivery.tracking_ended and is_buyer
    extra: dict[str, Any] = {}
    if with_path and not hide:
        extra["path"] = LocationPoint.objects.filter(delivery=delivery, kept=True).order_by("ts")
    if not delivery.tracking_ended and (is_delivery_receiver(viewer, delivery) if delivery.is_return else is_buyer):
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
        items.sort(key=lambda d: geo.haversine_m(lat, lon, *open_pickup_point(d)))
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
    """Move a locked delivery along the map, publish ``delivery.status_changed``, notify, and move
    what it carries.

    An order: picked_up → ``out_for_delivery``, delivered → ``delivered``, failed →
    ``delivery_failed`` (through ``commerce.orders.services.order_system_transition``; the
    store's staff are told of a failure: they re-dispatch or cancel). A return: picked_up → the
    return is ``in_transit``, delivered → ``received``, failed → the returns room is told
    (``commerce.returns.services``). ``cancelled`` follows the order or the return and moves
    nothing. The buyer is notified of the moves; the receiver (the buyer, or the store's staff
    for a return) of ``arriving``."""
    DELIVERY_MACHINE.check(delivery.status, status)
    previous = delivery.status
    delivery.status = status
    if status == DeliveryStatus.FAILED:
        delivery.failure_reason = reason[:200]
    delivery.save()
    tracking.forget_on_commit(delivery.pk, ended=status in ENDED_STATUSES)
    publish(topic=DELIVERY_TOPIC.name(delivery.pk),
            event=DeliveryStatusChanged.build(delivery=delivery, previous=previous, reason=reason))
    if delivery.is_return:
        _move_return(delivery, status, actor=actor, reason=reason)
    else:
        _move_order(delivery, status, actor=actor, reason=reason)
    what = f"{'return of ' if delivery.is_return else ''}order {delivery.order.number}"
    if status == DeliveryStatus.ARRIVING:
        receivers = _store_staff_ids(delivery) if delivery.is_return else [delivery.order.buyer_id]
        notify(recipients=receivers, kind=DELIVERY_ARRIVING.name,
               title=f"Your courier is arriving ({what})",
               body="Have your PIN ready.", data={"delivery_id": str(delivery.pk)}, target=delivery)
    elif status not in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED):
        # delivered / cancelled: the order's (the return's) own notification says it
        notify(recipients=[delivery.order.buyer_id], kind=DELIVERY_STATUS_CHANGED.name,
               title=f"Delivery of {what}: {DeliveryStatus(status).label.lower()}",
               body=reason, data={"delivery_id": str(delivery.pk), "status": status}, target=delivery)
    if status in ENDED_STATUSES:
        revoke_subscription(user_id=delivery.order.buyer_id, topic=DELIVERY_TOPIC.name(delivery.pk), reason="tracking_ended")


def _move_order(delivery: Delivery, status: str, *, actor, reason: str) -> None:
    """What an order delivery's move does to its order (see :func:`_set_status`)."""
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


def _move_return(delivery: Delivery, status: str, *, actor, reason: str) -> None:
    """What a return delivery's move does to its return (see :func:`_set_status`; a cancellation
    comes from the return and tells it nothing)."""
    if status == DeliveryStatus.PICKED_UP:
        returns.return_delivery_picked_up(return_id=delivery.return_request_id, actor=actor)
    elif status == DeliveryStatus.DELIVERED:
        returns.return_delivery_delivered(return_id=delivery.return_request_id, actor=actor, at=delivery.delivered_at)
    elif status == DeliveryStatus.FAILED:
        returns.return_delivery_failed(return_id=delivery.return_request_id, reason=reason, actor=actor)


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


def clean_point(raw: Any, *, now: datetime) -> dict[str, Any]:
    """Validate one point ``{ts, lat, lon, accuracy_m, speed_mps?, heading_deg?}`` (ISO time
    with a zone, degrees, metres, m/s, degrees) against the server's clock ``now``: returns it
    with ``ts`` an aware datetime and the numbers floats. Raises ``ApplicationError``
    ``invalid`` (shape, range) or ``future_timestamp``."""
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
    """Store a batch of positions from the assigned courier (the REST upload: many points, out
    of order and repeated batches are fine) and update what watchers see. Positions are
    accepted from ``assigned`` on. Raises ``NotFound``, ``Forbidden`` ``not_assigned``,
    ``Conflict`` ``tracking_ended`` (after delivered/failed), ``ApplicationError`` ``invalid`` /
    ``future_timestamp`` (the whole batch is refused, nothing stored).

    The filters and the throttle are those of the socket path (``delivery.tracking``: the same
    script, under the delivery's row lock here); the points are also written at once, so the
    upload returns with them stored (the stream's copy then finds them there)."""
    now = now or timezone.now()
    points = list(points)
    if not points or len(points) > 500:
        raise _invalid("Send 1 to 500 points.", "points")
    cleaned = sorted((clean_point(p, now=now) for p in points), key=lambda p: p["ts"])
    result = IngestResult()
    with transaction.atomic():
        delivery = _lock(delivery_id)
        _check_assigned(delivery, courier)
        if delivery.tracking_ended:
            raise Conflict("Tracking of this delivery has ended.", code="tracking_ended")
        tracking.write_access(delivery)
        rows, newest, send = [], None, None
        for i, p in enumerate(cleaned):
            hold = i < len(cleaned) - 1
            accepted = tracking.ingest(delivery_id=delivery.pk, user_id=courier.pk, point=p, now=now, hold=hold)
            if accepted.outcome == "miss":  # an earlier change's late forget: write it again from our locked row
                tracking.write_access(delivery)
                accepted = tracking.ingest(delivery_id=delivery.pk, user_id=courier.pk, point=p, now=now, hold=hold)
            if accepted.outcome == "dropped":
                result.dropped += 1
                continue
            if accepted.outcome != "ok":
                raise Conflict("The delivery changed meanwhile; send the points again.", code="retry")
            row = LocationPoint(delivery=delivery, received_at=now, kept=accepted.kept,
                                broadcastable=accepted.broadcastable, reject_reason="" if accepted.kept else "jump", **p)
            rows.append(row)
            _count(result, accepted)
            if accepted.kept and (delivery.last_ts is None or row.ts > delivery.last_ts) and (newest is None or row.ts > newest.ts):
                newest = row
            if accepted.send == "now":
                send = (p, accepted)
        LocationPoint.objects.bulk_create(rows, ignore_conflicts=True)
        if newest is not None:
            delivery.last_lat, delivery.last_lon, delivery.last_ts = newest.lat, newest.lon, newest.ts
            delivery.last_speed_mps, delivery.last_heading_deg = newest.speed_mps, newest.heading_deg
            delivery.last_received_at = now
            if delivery.stale:
                _mark_live(delivery, newest.ts)
            delivery.save()
            if send is not None:
                publish(topic=DELIVERY_TOPIC.name(delivery.pk), event=location_event(delivery.pk, send[0], send[1].dropoff,
                                                                                     send[1].speeds))
            if _arriving(delivery, newest.lat, newest.lon):
                _set_status(delivery, DeliveryStatus.ARRIVING, actor=courier, reason="within_radius")
        return result


def _count(result: IngestResult, accepted: tracking.Accepted) -> None:
    if not accepted.kept:
        result.rejected += 1
        return
    result.kept += 1
    if not accepted.broadcastable:
        result.hidden += 1
    if accepted.send == "now":
        result.broadcast, result.deferred = True, False
    elif accepted.send == "deferred" and not result.broadcast:
        result.deferred = True


def _arriving(delivery: Delivery, lat: float, lon: float) -> bool:
    radius = cfg("DELIVERY_ARRIVING_RADIUS_M", 300.0)
    return (delivery.status in (DeliveryStatus.PICKED_UP, DeliveryStatus.EN_ROUTE)
            and geo.haversine_m(lat, lon, delivery.dropoff_lat, delivery.dropoff_lon) <= radius)


def _mark_live(delivery: Delivery, ts: datetime) -> None:
    delivery.stale = False  # (the script cleared its copy of the flag when it said "live")
    publish(topic=DELIVERY_TOPIC.name(delivery.pk), event=DeliveryCourierLive.build(delivery=delivery, ts=ts))


def location_event(delivery_id: Any, point: dict[str, Any], dropoff: tuple[float, float] | None,
                   speeds: Iterable[float]):
    """``delivery.location`` of a ``point`` ``{ts, lat, lon, speed_mps, heading_deg}``: the
    distance to the drop-off and the ETA at the mean of the recent reported ``speeds`` (m/s)."""
    distance = geo.haversine_m(point["lat"], point["lon"], *dropoff) if dropoff else 0.0
    eta = geo.eta_seconds(distance, list(speeds), fallback_mps=cfg("DELIVERY_FALLBACK_SPEED_MPS", 5.0))
    row = LocationPoint(delivery_id=delivery_id, ts=point["ts"], lat=point["lat"], lon=point["lon"],
                        speed_mps=point.get("speed_mps"), heading_deg=point.get("heading_deg"))
    return DeliveryLocation.build(delivery=Delivery(pk=delivery_id), point=row, distance_m=distance, eta_seconds=eta)


async def delivery_track(*, courier, delivery_id: Any, point: Any) -> IngestResult:
    """The socket ``location`` command, on the event loop: one point of the assigned courier
    through ``delivery.tracking``'s script, with no database query on its way (the access hash
    is loaded once, and again after a change). Sends ``delivery.location`` now
    (``realtime.direct``) or leaves it to the throttle's flush; status changes (``arriving``,
    ``delivery.courier_live``) run in a transaction off the loop. Raises what
    :func:`delivery_ingest_locations` raises, ``Forbidden`` ``forbidden`` for someone who may
    not use the topic, and ``redis.RedisError`` in an outage (the gateway answers 503)."""
    now = timezone.now()
    p = clean_point(point, now=now)
    did = parse_uuid(delivery_id)
    if did is None or not is_active_user(courier):
        raise Forbidden(f"You may not send commands to {DELIVERY_TOPIC.name(delivery_id)}.", code="forbidden")
    tracking.ensure_worker()
    accepted = await _ingest_loaded(did, courier, p, now)
    if accepted.outcome in ("not_assigned", "ended", "miss"):
        await database_sync_to_async(_refuse_location, thread_sensitive=False)(courier=courier, delivery_id=did)
        await database_sync_to_async(tracking.forget, thread_sensitive=False)(did)  # the hash was stale: reload
        accepted = await _ingest_loaded(did, courier, p, now)
        if accepted.outcome != "ok" and accepted.outcome != "dropped":
            raise Conflict("The delivery changed meanwhile; send the point again.", code="retry")
    result = IngestResult()
    if accepted.outcome == "dropped":
        result.dropped = 1
        return result
    _count(result, accepted)
    if accepted.live:
        _in_background(delivery_mark_live, delivery_id=did, ts=p["ts"])
    if accepted.send == "now":
        await direct.publish(topic=DELIVERY_TOPIC.name(did), event=location_event(did, p, accepted.dropoff, accepted.speeds),
                             event_id=tracking.event_id(did, tracking.to_us(p["ts"])))
    if accepted.arriving:
        _in_background(delivery_mark_arriving, courier=courier, delivery_id=did, lat=p["lat"], lon=p["lon"])
    return result


_background: set[asyncio.Task] = set()


def _in_background(fn, **kwargs) -> None:
    """Run a status change (its own transaction, re-checked under the row lock) off the loop
    without holding the courier's reply: the point is accepted either way. A failure is logged;
    ``arriving`` is asked again by the next point near the drop-off, ``live`` when the access
    hash is next loaded (``delivery.tracking.ACCESS_TTL_SECONDS`` at most)."""
    task = asyncio.ensure_future(database_sync_to_async(fn, thread_sensitive=False)(**kwargs))
    _background.add(task)

    def done(t: asyncio.Task) -> None:
        _background.discard(t)
        if not t.cancelled() and t.exception() is not None:
            logger.warning("delivery: %s failed: %r", fn.__name__, t.exception())

    task.add_done_callback(done)


async def _ingest_loaded(did, courier, p: dict[str, Any], now: datetime) -> tracking.Accepted:
    accepted = await tracking.ingest_async(delivery_id=did, user_id=courier.pk, point=p, now=now)
    if accepted.outcome == "miss":
        await database_sync_to_async(tracking.load_access, thread_sensitive=False)(delivery_id=did)
        accepted = await tracking.ingest_async(delivery_id=did, user_id=courier.pk, point=p, now=now)
    return accepted


def _refuse_location(*, courier, delivery_id: Any) -> None:
    """Raise why ``courier`` may not send a position for the delivery (the gateway's
    ``forbidden`` for someone who may not use the topic, then :func:`_check_assigned`,
    ``tracking_ended``); return when the database says they may (the Redis copy was stale)."""
    delivery = Delivery.objects.select_related("order", "courier").filter(pk=delivery_id).first()
    if delivery is None or not can_track_delivery(courier, delivery):
        raise Forbidden(f"You may not send commands to {DELIVERY_TOPIC.name(delivery_id)}.", code="forbidden")
    _check_assigned(delivery, courier)
    if delivery.tracking_ended:
        raise Conflict("Tracking of this delivery has ended.", code="tracking_ended")


def delivery_mark_live(*, delivery_id: Any, ts: datetime) -> bool:
    """A stale courier sent a good point (``ts``): under the row lock, if still stale, clear
    ``stale`` and publish ``delivery.courier_live``. Returns whether it changed."""
    with transaction.atomic():
        delivery = _lock(delivery_id)
        if not delivery.stale or delivery.tracking_ended:
            return False
        _mark_live(delivery, ts)
        delivery.save(update_fields=["stale", "updated_at"])
        return True


def delivery_mark_arriving(*, courier, delivery_id: Any, lat: float, lon: float) -> bool:
    """The courier's point (``lat``, ``lon``) is within ``DELIVERY_ARRIVING_RADIUS_M`` of the
    drop-off: under the row lock, if still ``picked_up``/``en_route`` and carried by
    ``courier``, move to ``arriving`` (the buyer is notified). Returns whether it moved."""
    with transaction.atomic():
        delivery = _lock(delivery_id)
        if not is_delivery_carrier(courier, delivery) or not _arriving(delivery, lat, lon):
            return False
        _set_status(delivery, DeliveryStatus.ARRIVING, actor=courier, reason="within_radius")
        return True


def delivery_flush_location(*, delivery_id: Any, now: datetime | None = None) -> bool:
    """Send the newest point held back by the throttle once the window is open (idempotent),
    through the outbox. Returns whether one was sent."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = _lock(delivery_id)
        if delivery.tracking_ended:
            return False
        due = tracking.take_due(now=now, delivery_id=delivery.pk)
        for flushed in due:
            publish(topic=DELIVERY_TOPIC.name(delivery.pk),
                    event=location_event(delivery.pk, flushed.point, flushed.dropoff, flushed.speeds))
        return bool(due)


async def publish_flushed_async(flushed: tracking.Flushed) -> None:
    """Send a point the throttle's flush took out (``delivery.tracking.run_worker``), on the
    event loop through ``realtime.direct``."""
    did = flushed.delivery_id
    await direct.publish(topic=DELIVERY_TOPIC.name(did), event=location_event(did, flushed.point, flushed.dropoff,
                                                                              flushed.speeds),
                         event_id=tracking.event_id(did, flushed.point["us"]))


def deliveries_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every second: flush held-back points a second overdue (the gateways' workers send
    them as each window opens; this is the backstop), persist buffered points a dead gateway left behind
    (``delivery.tracking.persist_pending``), mark couriers silent for
    ``DELIVERY_STALE_AFTER_S`` (60 s) stale (``delivery.courier_stale``)."""
    now = now or timezone.now()
    stale = 0
    due = tracking.take_due(now=now, limit=500, overdue_s=1.0)
    if due:
        ended = set(Delivery.objects.filter(pk__in=[f.delivery_id for f in due], status__in=ENDED_STATUSES)
                    .values_list("pk", flat=True))
        with transaction.atomic():
            for f in due:
                if parse_uuid(f.delivery_id) not in ended:
                    publish(topic=DELIVERY_TOPIC.name(f.delivery_id),
                            event=location_event(f.delivery_id, f.point, f.dropoff, f.speeds))
    persisted = tracking.persist_pending(consumer=tracking.consumer_name("celery"),
                                        claim_idle_ms=int(cfg("DELIVERY_PERSIST_CLAIM_IDLE_S", 10.0) * 1000))
    cutoff = now - timedelta(seconds=cfg("DELIVERY_STALE_AFTER_S", 60.0))
    for did in list(Delivery.objects.filter(status__in=ACTIVE_STATUSES, stale=False, last_received_at__lt=cutoff)
                    .values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            d = _lock(did)
            if d.stale or d.last_received_at is None or d.last_received_at >= cutoff or d.tracking_ended:
                continue
            d.stale = True
            d.save(update_fields=["stale", "updated_at"])
            tracking.forget_on_commit(d.pk)
            publish(topic=DELIVERY_TOPIC.name(d.pk), event=DeliveryCourierStale.build(delivery=d, now=now))
            stale += 1
    return {"flushed": len(due), "persisted": persisted, "stale": stale}


def positions_purge(*, now: datetime | None = None) -> int:
    """Delete positions older than ``DELIVERY_POSITION_RETENTION_DAYS`` (60). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=cfg("DELIVERY_POSITION_RETENTION_DAYS", 60))
    deleted, _ = LocationPoint.objects.filter(received_at__lt=cutoff).delete()
    return deleted
