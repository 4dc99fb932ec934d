"""The ``delivery:<delivery_id>`` topic: the order's buyer (until delivered or failed), the
assigned courier, the order's store staff and staff. Anyone else, and unknown ids, get
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
from delivery.models import Delivery
from delivery.serializers import LocationsOutputSerializer
from delivery.services import can_watch, delivery_data, delivery_ingest_locations
from realtime.registry import Topic, command, register


def _find(key: str):
    did = parse_uuid(key)
    return Delivery.objects.select_related("order", "courier").filter(pk=did).first() if did else None


@register
class DeliveryTopic(Topic):
    kind = "delivery"
    buckets = {"location": (5, 120)}

    def authorize(self, *, user, key: str) -> bool:
        delivery = _find(key)
        if delivery is None or not can_watch(user=user, delivery=delivery):
            return False
        # the buyer's view of positions ends with the delivery
        return not (delivery.tracking_ended and delivery.order.buyer_id == user.pk)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not use delivery:{key}.", code="forbidden")
        return delivery_data(_find(key), viewer=user, with_path=True)

    @command("location", bucket="location")
    def location(self, *, user, key: str, data: dict) -> dict[str, Any]:
        return LocationsOutputSerializer(delivery_ingest_locations(courier=user, delivery_id=key, points=[data])).data
