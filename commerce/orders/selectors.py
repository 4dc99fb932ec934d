"""Reads of the orders room: the order and checkout payloads (REST bodies and event data),
order lists, and the stock a buyer's checkout holds. Who may see an order and ask which move is
``commerce.orders.permissions``; the pipeline is ``commerce.orders.models.ORDER_MACHINE``, moved
only by ``commerce.orders.services``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from core.exceptions import NotFound
from core.utils import parse_uuid

from commerce.orders.hooks import order_extras, order_queryset
from commerce.orders.models import Checkout, CheckoutStatus, Order, ReservationStatus, StockReservation
from commerce.orders.permissions import can_view_order, order_moves_for
from commerce.orders.serializers import (
    CheckoutOutputSerializer,
    OrderOutputSerializer,
    OrderSerializer,
    OrderSummarySerializer,
)
from commerce.stores.permissions import store_ids_of


def order_data(order: Order) -> dict[str, Any]:
    """The order payload (``order.created`` event data, a checkout's orders), rendered by
    :class:`commerce.orders.serializers.OrderSerializer`::

        {"id", "number", "checkout_id", "status", "source", "buyer_id",
         "vendor": {"id", "name"}, "currency", "subtotal", "shipping_total", "total",
         "tax_total", "net_total", "prices_include_tax", "tax_country", "refunded_total",
         "lines": [{"id", "product_id", "product_name", "sku", "vendor_name", "unit_price",
                    "quantity", "line_total", "tax_class", "tax_rate", "net_total", "tax_amount",
                    "gross_total"}],
         "shipping": {"method": {...} | null, "tax_class", "tax_rate", "net", "tax", "gross"},
         "shipping_address", "billing_address", "reservation_expires_at", "cancel_reason",
         "paid_at", "delivered_at", "created_at", "updated_at"}

    Money as ``"12.50"`` strings in ``currency``, rates as ``"19.00"`` (percent); times ISO 8601
    UTC. ``total = subtotal + shipping_total`` is what the buyer pays, ``tax_total`` the tax in
    it and ``net_total = total - tax_total``; each line and the shipping fee carry their tax
    line (``net + tax = gross``). ``shipping.method`` is the snapshot of the method it ships
    with (``commerce.shipping.selectors.method_snapshot``; null for auction orders)."""
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
    ids = store_ids_of(user)
    if vendor_id is not None:
        ids = [v for v in ids if v == vendor_id]
    return with_protection(Order.objects.filter(vendor_id__in=ids)).order_by("-created_at", "id")


def order_get_visible(*, user, order_id: Any) -> Order:
    """The order ``order_id`` if ``user`` may see it (buyer, vendor staff, admin). Raises
    ``NotFound`` ``order_not_found`` otherwise (also for a malformed id)."""
    oid = parse_uuid(order_id)
    order = with_protection(Order.objects.filter(pk=oid)).first() if oid else None
    if order is None or not can_view_order(user, order):
        raise NotFound("Order not found.", code="order_not_found")
    return order


def order_data_for(*, user, order: Order) -> dict[str, Any]:
    """The order's REST body for ``user``, rendered by
    :class:`commerce.orders.serializers.OrderOutputSerializer`: :func:`order_data` plus
    ``allowed_transitions`` (the moves ``user`` may ask for,
    ``commerce.orders.permissions.order_moves_for``) and what the rooms above add
    (:data:`commerce.orders.hooks.order_extras`: ``escrow`` and ``allowed_actions``, the buyer
    protection)."""
    viewer_data = {"allowed_transitions": order_moves_for(user, order),
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
