"""The ``cart:<user_id>`` topic: live cart sync across a user's devices.

Only the owner may subscribe (``str(user.pk) == key``). The snapshot and every command reply is
the cart response (``commerce.selectors.cart_data``); every change is also broadcast as a
``cart.updated`` event with the same data (``version`` grows by one per change).

Commands (``data`` validated by the same serializers as REST, then the same services):

- ``add_item`` ``{"product_id", "quantity"}``
- ``set_quantity`` ``{"item_id" | "product_id", "quantity"}``
- ``remove_item`` ``{"item_id"}``
- ``clear`` ``{}``

Refusals carry the REST codes: ``invalid``, ``insufficient_stock``, ``product_not_found``,
``product_unavailable``, ``currency_mismatch``, ``quantity_limit``, ``cart_full``,
``cart_item_not_found``, ``forbidden``.
"""

from __future__ import annotations

from typing import Any

from core.exceptions import Forbidden
from core.utils import validated_command
from realtime.registry import Topic, command, register

from commerce import services
from commerce.serializers import (
    CartItemAddInputSerializer,
    CartRemoveItemCommandSerializer,
    CartSetQuantityCommandSerializer,
)


@register
class CartTopic(Topic):
    """``cart:<user_id>``: owner only; snapshot and command replies are the cart response."""

    kind = "cart"

    def authorize(self, *, user, key: str) -> bool:
        return user is not None and getattr(user, "is_authenticated", False) and str(user.pk) == key

    def _check(self, user, key: str) -> None:
        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not use cart:{key}.", code="forbidden")

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_get(user=user).data

    @command("add_item")
    def add_item(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_add_item(user=user, **validated_command(CartItemAddInputSerializer, data)).data

    @command("set_quantity")
    def set_quantity(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_set_quantity(user=user, **validated_command(CartSetQuantityCommandSerializer, data)).data

    @command("remove_item")
    def remove_item(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_remove_item(user=user, **validated_command(CartRemoveItemCommandSerializer, data)).data

    @command("clear")
    def clear(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_clear(user=user).data


@register
class VendorTopic(Topic):
    """``vendor:<vendor_id>``: a store's live order desk, for its staff only.

    Snapshot: ``{"vendor": {"id", "name", "status"}, "counts": {status: n},
    "open_orders": [order summary], "open_disputes": n}`` (open = paid, processing,
    ready_for_pickup, out_for_delivery, delivery_failed; newest 50). Events: ``order.created`` (an
    order was paid: ``{"order"}``), ``order.status_changed`` (``{"order", "from", "to", "reason",
    "changed_at"}``), ``escrow.updated`` and ``dispute.opened`` / ``dispute.statement`` /
    ``dispute.resolved`` / ``dispute.withdrawn`` (``commerce.escrow``, ``commerce.disputes``).
    """

    kind = "vendor"

    def authorize(self, *, user, key: str) -> bool:
        from commerce.models import VendorStaff
        from core.utils import parse_uuid

        vid = parse_uuid(key)
        return vid is not None and VendorStaff.objects.filter(vendor_id=vid, user=user).exists()

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        from django.db.models import Count

        from commerce.models import Dispute, DisputeStatus, Order, OrderStatus, Vendor
        from commerce.orders import order_summary

        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not use vendor:{key}.", code="forbidden")
        vendor = Vendor.objects.get(pk=key)
        counts = dict(Order.objects.filter(vendor=vendor).values_list("status").annotate(n=Count("id")))
        open_statuses = [OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.READY_FOR_PICKUP,
                         OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERY_FAILED]
        open_orders = Order.objects.filter(vendor=vendor, status__in=open_statuses).order_by("-created_at")[:50]
        return {
            "vendor": {"id": str(vendor.id), "name": vendor.name, "status": vendor.status},
            "counts": counts,
            "open_orders": [order_summary(o) for o in open_orders],
            "open_disputes": Dispute.objects.filter(order__vendor=vendor, status=DisputeStatus.OPEN).count(),
        }
