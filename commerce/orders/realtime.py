"""The ``vendor:<vendor_id>`` topic: a store's live order desk, for its staff only.

The snapshot is built here from the orders (counts per status, the newest open orders) plus what
the rooms above add (the open disputes); events come from the services that change them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from core.exceptions import Forbidden
from core.utils import parse_uuid
from realtime.registry import Topic, register

from commerce.orders.hooks import vendor_desk_extras
from commerce.orders.models import Order, OrderStatus
from commerce.orders.selectors import order_summary
from commerce.stores.events import VENDOR_TOPIC
from commerce.stores.models import Vendor, VendorStaff


@register
class VendorTopic(Topic):
    """``vendor:<vendor_id>``: a store's live order desk, for its staff only.

    Snapshot: ``{"vendor": {"id", "name", "status"}, "counts": {status: n},
    "open_orders": [order summary], "open_disputes": n}`` (open = paid, processing,
    ready_for_pickup, out_for_delivery, delivery_failed; newest 50). Events
    (``commerce.orders.events`` and the rooms above): ``order.placed`` (a new unpaid order),
    ``order.status_changed``, ``order.created`` (an order was paid: the full order),
    ``vendor.status_changed``, ``escrow.updated`` (``commerce.payments.escrow``) and
    ``dispute.opened`` / ``dispute.statement`` / ``dispute.resolved`` / ``dispute.withdrawn``
    (``commerce.disputes.services``). ``open_disputes`` comes from the disputes room
    (``commerce.orders.hooks.vendor_desk_extras``). A desk keeps the snapshot with them
    (``tests/commerce/orders/test_events.py``).
    """

    kind = VENDOR_TOPIC.kind

    def authorize(self, *, user, key: str) -> bool:
        vid = parse_uuid(key)
        return vid is not None and VendorStaff.objects.filter(vendor_id=vid, user=user).exists()

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not use {VENDOR_TOPIC.name(key)}.", code="forbidden")
        vendor = Vendor.objects.get(pk=key)
        counts = dict(Order.objects.filter(vendor=vendor).values_list("status").annotate(n=Count("id")))
        open_statuses = [OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.READY_FOR_PICKUP,
                         OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERY_FAILED]
        open_orders = Order.objects.filter(vendor=vendor, status__in=open_statuses).order_by("-created_at")[:50]
        return {
            "vendor": {"id": str(vendor.id), "name": vendor.name, "status": vendor.status},
            "counts": counts,
            "open_orders": [order_summary(o) for o in open_orders],
            **vendor_desk_extras(vendor=vendor),
        }
