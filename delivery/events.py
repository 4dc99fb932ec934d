"""The ``delivery:<delivery_id>`` topic kind and the delivery event types (``realtime.events``);
``delivery.cancelled`` goes to the courier's and the buyer's ``user:`` topics.

A watcher keeps the snapshot (``delivery.services.delivery_data``) with them: positions and ETA
from ``delivery.location``, status, courier, failure/cancel reason and ``delivered_at`` from
``delivery.status_changed``, ``stale`` from ``delivery.courier_stale`` / ``delivery.courier_live``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Event, EventSchema, Payload, Timestamp, TopicKind, Topics, one_of
from realtime.user_topic import USER_TOPIC

from delivery.models import Delivery, DeliveryMode, DeliveryStatus, LocationPoint

#: ``delivery:<delivery_id>``: one delivery attempt, live (buyer, courier, store staff, staff)
DELIVERY_TOPIC = TopicKind("delivery", key="the delivery (attempt) id",
                           description="one delivery attempt: courier position, ETA and status")

DeliveryStatusValue = one_of(DeliveryStatus.values)

class DeliveryCourier(Payload):
    id: UUID
    name: str = Field(description="the courier's display name (\"Courier\" when they have none)")


class DeliveryLocation(EventSchema):
    """The courier's newest good position: at most one per ``DELIVERY_BROADCAST_INTERVAL_S``
    (2 s) per delivery, the newest point winning; inaccurate (> 100 m) and jump points are never
    sent. ``distance_m`` and ``eta_seconds`` are to the drop-off."""

    type: ClassVar[str] = "delivery.location"
    topics: ClassVar[Topics] = (DELIVERY_TOPIC,)

    id: UUID
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    heading_deg: float | None = Field(ge=0, le=360)
    speed_mps: float | None = Field(ge=0)
    ts: Timestamp = Field(description="the phone's time of the fix")
    distance_m: float = Field(ge=0)
    eta_seconds: Count

    @classmethod
    def build(cls, *, delivery: Delivery, point: LocationPoint, distance_m: float, eta_seconds: int) -> Event:
        return cls.event({"id": delivery.pk, "lat": point.lat, "lon": point.lon, "heading_deg": point.heading_deg,
                          "speed_mps": point.speed_mps, "ts": point.ts, "distance_m": round(distance_m, 1),
                          "eta_seconds": eta_seconds})


class DeliveryStatusChanged(EventSchema):
    """The delivery moved: ``to`` is ``assigned`` (with the courier), ``picked_up``, ``en_route``,
    ``arriving``, ``delivered`` (PIN or QR proof; ``delivered_at``), ``failed`` (``reason``
    says why; the order goes ``delivery_failed``) or ``cancelled`` (the order was cancelled or
    refunded before pickup; ``reason``). After an end (``tracking_ended``) the buyer's
    subscription is revoked."""

    type: ClassVar[str] = "delivery.status_changed"
    topics: ClassVar[Topics] = (DELIVERY_TOPIC,)

    id: UUID
    from_: DeliveryStatusValue = Field(alias="from")
    to: DeliveryStatusValue
    reason: str
    attempt: int = Field(ge=1)
    mode: one_of(DeliveryMode.values)
    courier: DeliveryCourier | None
    tracking_ended: bool
    delivered_at: Timestamp | None = Field(description="when delivery was proven (null until then)")

    @classmethod
    def build(cls, *, delivery: Delivery, previous: str, reason: str) -> Event:
        """``delivery`` (courier loaded) has just moved from ``previous`` to its status."""
        courier = ({"id": delivery.courier_id, "name": delivery.courier.display_name or "Courier"}
                   if delivery.courier_id else None)
        return cls.event({"id": delivery.pk, "from": previous, "to": delivery.status, "reason": reason,
                          "attempt": delivery.attempt, "mode": delivery.mode, "courier": courier,
                          "tracking_ended": delivery.tracking_ended, "delivered_at": delivery.delivered_at})


class DeliveryCourierStale(EventSchema):
    """No position from the courier for ``DELIVERY_STALE_AFTER_S`` (60 s)."""

    type: ClassVar[str] = "delivery.courier_stale"
    topics: ClassVar[Topics] = (DELIVERY_TOPIC,)

    id: UUID
    last_ts: Timestamp | None = Field(description="the time of the last position")
    silent_seconds: Count

    @classmethod
    def build(cls, *, delivery: Delivery, now: datetime) -> Event:
        return cls.event({"id": delivery.pk, "last_ts": delivery.last_ts,
                          "silent_seconds": int((now - delivery.last_received_at).total_seconds())})


class DeliveryCourierLive(EventSchema):
    """A stale courier sent a good position again (``ts``)."""

    type: ClassVar[str] = "delivery.courier_live"
    topics: ClassVar[Topics] = (DELIVERY_TOPIC,)

    id: UUID
    ts: Timestamp

    @classmethod
    def build(cls, *, delivery: Delivery, ts: datetime) -> Event:
        return cls.event({"id": delivery.pk, "ts": ts})


class DeliveryCancelled(EventSchema):
    """To the courier who carried it and to the buyer: the delivery attempt was cancelled
    because its order was cancelled or refunded before pickup."""

    type: ClassVar[str] = "delivery.cancelled"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    id: UUID
    order_id: UUID
    order_number: str
    attempt: int = Field(ge=1)
    reason: str

    @classmethod
    def build(cls, *, delivery: Delivery) -> Event:
        order = delivery.order
        return cls.event({"id": delivery.pk, "order_id": order.pk, "order_number": order.number,
                          "attempt": delivery.attempt, "reason": delivery.cancel_reason})
