"""Reads of the orders room: who may see an order and ask which move, the order and checkout
payloads (REST bodies and event data), order lists, and the stock a buyer's checkout holds.

Who may ask for a move (checked per object by :func:`allowed_transitions_for`; the pipeline
itself is ``commerce.orders.models.ORDER_TRANSITIONS``, moved only by ``commerce.orders.services``):

* the system only (:data:`SYSTEM_ONLY`): ``paid``, ``refunded``, and the delivery-owned
  ``out_for_delivery``, ``delivered``, ``delivery_failed``;
* the vendor's staff of an active store: :data:`VENDOR_MOVES`;
* the buyer: ``cancelled`` while :data:`BUYER_CANCELLABLE`;
* an admin: any allowed move that is not system-only.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from core.exceptions import NotFound
from core.models import is_staff_or_admin
from core.utils import parse_uuid

from commerce.orders.hooks import order_extras, order_queryset
from commerce.orders.models import (
    ORDER_TRANSITIONS,
    Checkout,
    CheckoutStatus,
    Order,
    OrderStatus,
    ReservationStatus,
    StockReservation,
)
from commerce.orders.serializers import (
    CheckoutOutputSerializer,
    OrderOutputSerializer,
    OrderSerializer,
    OrderSummarySerializer,
)
from commerce.stores.models import VendorStaff
from commerce.stores.selectors import user_is_vendor_staff, vendor_ids_for_user


#: moves a store's staff may ask for
VENDOR_MOVES = frozenset({OrderStatus.PROCESSING, OrderStatus.READY_FOR_PICKUP, OrderStatus.CANCELLED})

#: statuses from which the buyer may cancel
BUYER_CANCELLABLE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID})

#: moves only the system makes: payments, refunds, and the delivery flow (proof of pickup,
#: proof of delivery, a failed delivery). No role may ask for them.
SYSTEM_ONLY = frozenset({OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.OUT_FOR_DELIVERY,
                         OrderStatus.DELIVERED, OrderStatus.DELIVERY_FAILED})


def order_visible_to(*, user, order: Order) -> bool:
    """Whether ``user`` may see ``order``: its buyer, staff of its vendor, or an admin."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if order.buyer_id == user.pk or is_staff_or_admin(user):
        return True
    return VendorStaff.objects.filter(vendor_id=order.vendor_id, user=user).exists()


def allowed_transitions_for(*, user, order: Order) -> list[str]:
    """The statuses ``user`` may move ``order`` to now (map ∩ role), sorted. Empty for system
    moves and for people with no say."""
    legal = ORDER_TRANSITIONS.get(order.status, frozenset()) - SYSTEM_ONLY
    if is_staff_or_admin(user):
        return sorted(legal)
    allowed: set[str] = set()
    if user_is_vendor_staff(user=user, vendor_id=order.vendor_id, active_only=True):
        allowed |= legal & VENDOR_MOVES
    if order.buyer_id == getattr(user, "pk", None) and order.status in BUYER_CANCELLABLE:
        allowed |= legal & {OrderStatus.CANCELLED}
    return sorted(allowed)


def order_data(order: Order) -> dict[str, Any]:
    """The order payload (``order.created`` event data, a checkout's orders), rendered by
    :class:`commerce.orders.serializers.OrderSerializer`::

        {"id", "number", "checkout_id", "status", "source", "buyer_id",
         "vendor": {"id", "name"}, "currency", "subtotal", "shipping_total", "total",
         "refunded_total", "lines": [{"id", "product_id", "product_name", "sku", "vendor_name",
         "unit_price", "quantity", "line_total"}], "shipping_address", "billing_address",
         "reservation_expires_at", "cancel_reason", "paid_at", "delivered_at", "created_at", "updated_at"}

    Money as ``"12.50"`` strings in ``currency``; times ISO 8601 UTC."""
    return OrderSerializer(order).data


def order_summary(order: Order) -> dict[str, Any]:
    """A short order payload for lists and events, rendered by
    :class:`commerce.orders.serializers.OrderSummarySerializer`: ``{"id", "number", "status",
    "buyer_id", "vendor_id", "currency", "total", "created_at", "updated_at"}``."""
    return OrderSummarySerializer(order).data


def with_protection(qs: QuerySet[Order]) -> QuerySet[Order]:
    """``qs`` with what the order payloads need in the same queries: the vendor and the lines, plus
    what the rooms above add (:data:`commerce.orders.hooks.order_queryset`: the escrow and the
    open dispute's id)."""
    return order_queryset(qs.select_related("vendor").prefetch_related("lines"))


def orders_for_buyer(*, user) -> QuerySet[Order]:
    """The user's orders as a buyer, newest first, with vendor, escrow, open dispute and lines."""
    return with_protection(Order.objects.filter(buyer=user)).order_by("-created_at", "id")


def orders_for_vendor_staff(*, user, vendor_id: uuid.UUID | None = None) -> QuerySet[Order]:
    """Orders of the stores ``user`` is staff of (one store with ``vendor_id``), newest first.
    A vendor id the user is not staff of gives an empty queryset (never another store's)."""
    ids = vendor_ids_for_user(user)
    if vendor_id is not None:
        ids = [v for v in ids if v == vendor_id]
    return with_protection(Order.objects.filter(vendor_id__in=ids)).order_by("-created_at", "id")


def order_get_visible(*, user, order_id: Any) -> Order:
    """The order ``order_id`` if ``user`` may see it (buyer, vendor staff, admin). Raises
    ``NotFound`` ``order_not_found`` otherwise (also for a malformed id)."""
    oid = parse_uuid(order_id)
    order = with_protection(Order.objects.filter(pk=oid)).first() if oid else None
    if order is None or not order_visible_to(user=user, order=order):
        raise NotFound("Order not found.", code="order_not_found")
    return order


def order_data_for(*, user, order: Order) -> dict[str, Any]:
    """The order's REST body for ``user``, rendered by
    :class:`commerce.orders.serializers.OrderOutputSerializer`: :func:`order_data` plus
    ``allowed_transitions`` (the moves ``user`` may ask for) and what the rooms above add
    (:data:`commerce.orders.hooks.order_extras`: ``escrow`` and ``allowed_actions``, the buyer
    protection)."""
    viewer_data = {"allowed_transitions": allowed_transitions_for(user=user, order=order),
                   **order_extras(user=user, order=order)}
    return OrderOutputSerializer(order, context={"viewer_data": viewer_data}).data


def checkout_data(checkout: Checkout) -> dict[str, Any]:
    """A checkout's REST body, rendered by :class:`commerce.orders.serializers.CheckoutOutputSerializer`:
    ``{"id", "status", "currency", "total", "expires_at", "created_at", "orders": [order]}``,
    its orders by store name."""
    orders = Order.objects.select_related("vendor").prefetch_related("lines").order_by("vendor__name", "id")
    prefetch_related_objects([checkout], Prefetch("orders", queryset=orders, to_attr="orders_by_vendor"))
    return CheckoutOutputSerializer(checkout).data


def active_reservation_for(*, user_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """For cart payloads: ``{user_id: {"checkout_id", "expires_at", "total", "currency",
    "order_ids", "quantities": {product_id: units}}}`` of each user's active checkout (ids as
    strings, ``expires_at`` a ``datetime``, ``total`` a ``Decimal``). Provides the cart room's
    ``checkout_reservations`` hook."""
    out: dict[Any, dict[str, Any]] = {}
    rows = (
        StockReservation.objects.filter(
            order__checkout__buyer_id__in=user_ids, order__checkout__status=CheckoutStatus.ACTIVE,
            status=ReservationStatus.ACTIVE,
        )
        .values_list("order__checkout__buyer_id", "order__checkout_id", "order__checkout__expires_at",
                     "order__checkout__total", "order__checkout__currency", "order_id", "product_id", "quantity")
    )
    for buyer_id, checkout_id, expires_at, total, currency, order_id, product_id, qty in rows:
        r = out.setdefault(buyer_id, {"checkout_id": str(checkout_id), "expires_at": expires_at,
                                      "total": total, "currency": currency, "order_ids": [],
                                      "quantities": {}})
        if str(order_id) not in r["order_ids"]:
            r["order_ids"].append(str(order_id))
        r["quantities"][str(product_id)] = r["quantities"].get(str(product_id), 0) + qty
    return out
