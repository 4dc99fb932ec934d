"""The ``delivery:<delivery_id>`` topic: the order's buyer (until delivered or failed), the
assigned courier, the order's store staff and marketplace admins
(``delivery.permissions.can_track_delivery``). Anyone else, and unknown ids, get
``forbidden``; when tracking ends the buyer's subscription is revoked (``subscription.revoked``
with reason ``tracking_ended``) and a new one is refused.

Snapshot: ``delivery.services.delivery_data`` with the path so far. Events:
``delivery.location`` ``{id, lat, lon, heading_deg, speed_mps, ts, distance_m, eta_seconds}`` (at
most one per 2 s, newest point wins), ``delivery.status_changed`` ``{id, from, to, reason,
courier, tracking_ended}``, ``delivery.courier_stale`` ``{id, last_ts, silent_seconds}``,
``delivery.courier_live`` ``{id, ts}``.

Command ``location`` (the assigned courier): one point ``{ts, lat, lon, accuracy_m, speed_mps?,
heading_deg?}`` → ``{kept, rejected, dropped, hidden, broadcast, deferred}``; bucket ``location``
(5 burst, 120 per minute: 1 Hz with room for catch-up). Codes: ``invalid``,
``future_timestamp``, ``not_assigned``, ``tracking_ended``.
"""

from __future__ import annotations

from typing import Any

from core.exceptions import Forbidden
from core.utils import parse_uuid
from delivery.events import DELIVERY_TOPIC
from delivery.models import Delivery
from delivery.permissions import can_track_delivery
from delivery.serializers import LocationsOutputSerializer
from delivery.services import delivery_data, delivery_ingest_locations
from realtime.registry import Topic, command, register


def _find(key: str):
    did = parse_uuid(key)
    return Delivery.objects.select_related("order", "courier").filter(pk=did).first() if did else None


@register
class DeliveryTopic(Topic):
    kind = DELIVERY_TOPIC.kind
    buckets = {"location": (5, 120)}

    def authorize(self, *, user, key: str) -> bool:
        delivery = _find(key)
        return delivery is not None and can_track_delivery(user, delivery)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not use {DELIVERY_TOPIC.name(key)}.", code="forbidden")
        return delivery_data(_find(key), viewer=user, with_path=True)

    @command("location", bucket="location")
    def location(self, *, user, key: str, data: dict) -> dict[str, Any]:
        return LocationsOutputSerializer(delivery_ingest_locations(courier=user, delivery_id=key, points=[data])).data
