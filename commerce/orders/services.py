"""Orders: the status pipeline, who may move an order, cancellation, and the order payloads.

Status pipeline (django-oscar style, :data:`commerce.orders.models.ORDER_TRANSITIONS`; this module
is its one owner)::

    pending_payment -> paid -> processing -> ready_for_pickup -> out_for_delivery -> delivered
    ready_for_pickup|out_for_delivery -> delivery_failed -> ready_for_pickup (a new delivery attempt)
    pending_payment|paid|processing|ready_for_pickup|delivery_failed -> cancelled
    paid|processing|ready_for_pickup|delivery_failed|delivered -> refunded   (a full refund, commerce.payments.services)

This module is also the one owner of the stock reservations' map
(:data:`commerce.orders.models.RESERVATION_MACHINE`: released here, consumed when paid through
:func:`reservations_consume`).

A move the map does not allow raises ``core.fsm.InvalidTransition`` (409 ``invalid_transition``
with ``from``, ``to``, ``allowed``). Who may ask for a move (checked per object,
:func:`commerce.orders.permissions.order_moves_for`):

* the system only (:data:`~commerce.orders.permissions.SYSTEM_ONLY`, never a status POST, whatever the role — admins
  included): ``paid`` (a payment), ``refunded`` (a refund), and the delivery-owned
  ``out_for_delivery`` (the parcel was picked up), ``delivered`` (proof of delivery: the buyer's
  PIN or QR) and ``delivery_failed`` (the carrier reported a failure). The delivery app makes
  them through :func:`order_system_transition`; ``delivered`` starts the buyer-protection window
  (``commerce.payments.escrow``, through ``order_status_changed``), it does not pay the store;
* the vendor's staff (an active store): ``processing``, ``ready_for_pickup`` (also from
  ``delivery_failed``: re-dispatch) and ``cancelled`` until the order leaves the store or after
  a failed delivery;
* the buyer: ``cancelled`` while ``pending_payment`` or ``paid``;
* a marketplace admin: any allowed move that is not system-only.

Others get ``Forbidden`` ``transition_not_allowed`` (403); a user who may not see the order gets
``NotFound`` ``order_not_found`` (404), never a hint it exists.

A new order is announced with ``order.placed`` (:func:`order_placed`, to the buyer and the
store). Every move writes an :class:`OrderStatusChange` (who, when, from, to, reason), publishes
``order.status_changed`` to ``user:<buyer_id>`` and ``vendor:<vendor_id>`` after commit,
notifies the buyer (kind ``order.status_changed``) and sends ``commerce.orders.signals.order_status_changed``
(delivery creates a delivery attempt on ``ready_for_pickup`` and cancels the open one on
``cancelled`` / ``refunded``; payments starts the buyer-protection window on ``delivered``).
Cancelling a paid order sends ``order_cancelling`` first: payments refunds it. A paid order also gives the vendor ``order.created`` on
``vendor:<vendor_id>`` and a notification to its staff.

Lock order (whole project): **checkout -> orders (pk) -> the order's delivery, dispute,
payments, escrow -> vendor -> products (pk) -> carts (pk) -> wallets (pk)**. Preconditions are
re-checked under the lock.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from django.db import transaction
from django.utils import timezone

from core.exceptions import Conflict, Forbidden, NotFound
from core.models import Address
from core.services import ADDRESS_FIELDS
from core.utils import parse_uuid
from notifications.kinds import IN_APP, ORDER_STATUS_CHANGED, register_kind
from notifications.services import notify
from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from commerce.catalog.services import products_adjust_stock
from commerce.orders.events import OrderCreated, OrderPlaced, OrderStatusChanged
from commerce.orders.models import (
    ORDER_MACHINE,
    RESERVATION_MACHINE,
    Order,
    OrderStatus,
    OrderStatusChange,
    ReservationStatus,
    StockReservation,
)
from commerce.orders.permissions import can_move_order, can_view_order, is_order_buyer
from commerce.orders.signals import order_cancelling, order_status_changed
from commerce.stores.models import VendorStaff
from commerce.stores.events import VENDOR_TOPIC

ORDER_RECEIVED = register_kind(
    "order.received",
    description="A new paid order arrived for a store you work for.",
    default_channels=(IN_APP,),
)


def order_number(order_id: uuid.UUID) -> str:
    """The order's public number: ``"MK-"`` and the first ten hex digits of its id, upper case
    (``MK-3F2A9C01B4``)."""
    return "MK-" + order_id.hex[:10].upper()


def address_snapshot(address: Address) -> dict[str, Any]:
    """An address as an order keeps it (an immutable copy taken at purchase): the address fields
    with ``id`` and coordinates as strings, without the default-address flags."""
    data = {f: getattr(address, f) for f in ADDRESS_FIELDS if hasattr(address, f)}
    data["id"] = str(address.id)
    for k in ("latitude", "longitude"):
        if data.get(k) is not None:
            data[k] = str(data[k])
    return {k: v for k, v in data.items() if k not in ("is_default_shipping", "is_default_billing")}


def lock_order(order_id: uuid.UUID) -> Order:
    """``SELECT ... FOR UPDATE`` the order (vendor joined). Raises ``NotFound`` ``order_not_found``."""
    order = Order.objects.select_for_update(of=("self",)).select_related("vendor").filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", code="order_not_found")
    return order


def lock_visible_order(*, user, order_id: Any) -> Order:
    """Lock order ``order_id`` (call inside a transaction) if ``user`` may see it. Raises
    ``NotFound`` ``order_not_found`` otherwise, also for a malformed id."""
    oid = parse_uuid(order_id)
    if oid is None:
        raise NotFound("Order not found.", code="order_not_found")
    order = lock_order(oid)
    if not can_view_order(user, order):
        raise NotFound("Order not found.", code="order_not_found")
    return order


def lock_delivered_order_of_buyer(*, user, order_id: Any, forbidden: Forbidden, doing: str) -> Order:
    """Lock order ``order_id`` for something only its buyer does once it is delivered (confirm
    receipt, open a dispute). Raises ``NotFound`` ``order_not_found`` (not visible), ``forbidden``
    (visible, but not the buyer), ``Conflict`` ``not_delivered`` ("Order … is …; ``doing`` once
    it is delivered")."""
    order = lock_visible_order(user=user, order_id=order_id)
    if not is_order_buyer(user, order):
        raise forbidden
    if order.status != OrderStatus.DELIVERED:
        raise Conflict(f"Order {order.number} is {order.status}; {doing} once it is delivered.", code="not_delivered",
                       extra={"status": order.status})
    return order


def order_placed(*, order: Order) -> None:
    """Announce a new ``pending_payment`` order (``order.placed``) to its buyer's ``user:`` topic
    and its store's desk, after commit. Call it where an order is created (checkout, auction)."""
    event = OrderPlaced.build(order=order)
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=event)


def _record(order: Order, *, to_status: str, actor, reason: str, at=None) -> None:
    """Apply a move on a locked order at ``at`` (default now): status, audit row, events and
    notifications."""
    from_status = order.status
    order.status = to_status
    order.updated_at = at or timezone.now()
    if to_status == OrderStatus.PAID and order.paid_at is None:
        order.paid_at = order.updated_at
    if to_status == OrderStatus.DELIVERED:
        order.delivered_at = order.updated_at
    if to_status == OrderStatus.CANCELLED:
        order.cancel_reason = (reason or "cancelled")[:64]
    order.save(update_fields=["status", "updated_at", "paid_at", "delivered_at", "cancel_reason"])
    OrderStatusChange.objects.create(
        order=order, from_status=from_status, to_status=to_status,
        actor=actor if getattr(actor, "pk", None) else None, reason=(reason or "")[:200],
    )
    event = OrderStatusChanged.build(order=order, from_status=from_status, reason=reason)
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=event)
    label = OrderStatus(to_status).label.lower()
    notify(
        recipients=[order.buyer_id],
        kind=ORDER_STATUS_CHANGED.name,
        title=f"Order {order.number}: {label}",
        body=f"Your order {order.number} from {order.vendor.name} is now {label}."
        + (f" Reason: {reason.replace('_', ' ')}." if reason and to_status == OrderStatus.CANCELLED else ""),
        data={"order_id": str(order.id), "number": order.number, "status": to_status, "url": f"/orders/{order.id}"},
        target=order,
    )
    order_status_changed.send(sender=Order, order=order, from_status=from_status, to_status=to_status,
                              actor=actor if getattr(actor, "pk", None) else None, reason=reason or "")
    if to_status == OrderStatus.PAID:
        publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=OrderCreated.build(order=order))
        staff = list(VendorStaff.objects.filter(vendor_id=order.vendor_id).values_list("user_id", flat=True))
        if staff:
            notify(
                recipients=staff,
                kind=ORDER_RECEIVED.name,
                title=f"New order {order.number}",
                body=f"A paid order of {order.total:.2f} {order.currency} for {order.vendor.name}.",
                data={"order_id": str(order.id), "number": order.number, "vendor_id": str(order.vendor_id)},
                target=order,
            )


def order_apply_transition(*, order: Order, to_status: str, actor=None, reason: str = "", at=None) -> Order:
    """Move a *locked* order to ``to_status`` for the system (payments, refunds, expiry,
    delivery) at ``at`` (aware UTC, default now): checks only the transitions map, not who asks.
    Raises ``core.fsm.InvalidTransition``. Side effects of the move (stock, money) are the
    caller's."""
    ORDER_MACHINE.check(order.status, to_status)
    _record(order, to_status=to_status, actor=actor, reason=reason, at=at)
    return order


def order_require_transition(*, order: Order, to_status: str, detail: str | None = None) -> None:
    """Refuse early, before side effects, a move of a locked order the map does not allow (e.g. a
    full refund while out for delivery, ``commerce.payments.services.refund_locked``). Raises
    ``core.fsm.InvalidTransition`` (``detail`` replaces the default sentence)."""
    ORDER_MACHINE.check(order.status, to_status, detail=detail)


def release_reservations(*, orders: Iterable[Order], actor=None, reason: str) -> int:
    """Give the units of the orders' active reservations back to stock (one stock change per
    product, carts refreshed) and mark them released. Call with the orders locked. Returns the
    number of reservations released."""
    reservations = list(
        StockReservation.objects.select_for_update()
        .filter(order__in=[o.pk for o in orders], status__in=RESERVATION_MACHINE.sources(ReservationStatus.RELEASED))
        .order_by("pk")
    )
    if not reservations:
        return 0
    changes: dict[uuid.UUID, int] = {}
    for r in reservations:
        changes[r.product_id] = changes.get(r.product_id, 0) + r.quantity
    StockReservation.objects.filter(pk__in=[r.pk for r in reservations]).update(status=ReservationStatus.RELEASED)
    products_adjust_stock(changes=changes, reason=reason[:64], actor=actor if getattr(actor, "pk", None) else None)
    return len(reservations)


def reservations_consume(*, order: Order) -> int:
    """The sale of a locked order that was just paid: its active reservations become
    ``consumed`` (the units stay sold). Returns how many. Called by ``commerce.payments``."""
    return (StockReservation.objects
            .filter(order=order, status__in=RESERVATION_MACHINE.sources(ReservationStatus.CONSUMED))
            .update(status=ReservationStatus.CONSUMED))


def return_sold_stock(*, order: Order, actor=None, reason: str) -> None:
    """Put the units of a paid (sold) order back in stock, e.g. when it is cancelled."""
    changes: dict[uuid.UUID, int] = {}
    for line in order.lines.all():
        if line.product_id:
            changes[line.product_id] = changes.get(line.product_id, 0) + line.quantity
    if changes:
        products_adjust_stock(changes=changes, reason=reason[:64], actor=actor if getattr(actor, "pk", None) else None)


def order_transition(*, user, order_id: Any, to_status: str, reason: str = "") -> Order:
    """``user`` moves order ``order_id`` to ``to_status`` (REST ``POST /orders/{id}/status/``).

    Checks, under the order's row lock: visibility (``NotFound`` ``order_not_found``), the
    transitions map (``core.fsm.InvalidTransition``, also for an unknown status), then the role
    (``Forbidden`` ``transition_not_allowed``, ``commerce.orders.permissions.can_move_order``).
    Cancelling releases reserved stock (pending payment) or returns sold stock and refunds the
    payment in full (paid and later).
    """
    with transaction.atomic():
        order = lock_visible_order(user=user, order_id=order_id)
        ORDER_MACHINE.check(order.status, to_status, detail=None if to_status in OrderStatus.values
                            else f"Unknown order status {str(to_status)[:40]!r}.")
        if not can_move_order(user, order, to_status):
            raise Forbidden(f"You may not move this order to {to_status}.", code="transition_not_allowed")
        return _move_locked(order=order, to_status=to_status, actor=user, reason=reason)


def _move_locked(*, order: Order, to_status: str, actor, reason: str, at=None) -> Order:
    """A locked order's move with its side effects: cancel (stock, refund); delivered starts the
    buyer-protection window (payments listens to ``order_status_changed``; the escrow is released
    later, ``commerce.payments.escrow``)."""
    if to_status == OrderStatus.CANCELLED:
        return order_cancel_locked(order=order, actor=actor, reason=reason or "cancelled")
    order_apply_transition(order=order, to_status=to_status, actor=actor, reason=reason, at=at)
    return order


def order_cancel_locked(*, order: Order, actor=None, reason: str) -> Order:
    """Cancel a locked order with its side effects: reserved stock released (pending payment),
    or sold stock returned and the payment refunded in full (paid and later, before it left the
    store, or after a failed delivery: ``order_cancelling``, which payments handles); the
    delivery app cancels the open delivery attempt (the ``order_status_changed`` signal). Raises
    ``core.fsm.InvalidTransition`` when it cannot be cancelled."""
    ORDER_MACHINE.check(order.status, OrderStatus.CANCELLED)
    was = order.status
    if was == OrderStatus.PENDING_PAYMENT:
        release_reservations(orders=[order], actor=actor, reason="order_cancelled")
    else:
        order_cancelling.send(sender=Order, order=order, actor=actor, reason=reason)
        return_sold_stock(order=order, actor=actor, reason="order_cancelled")
    order_apply_transition(order=order, to_status=OrderStatus.CANCELLED, actor=actor, reason=reason)
    return order


def order_system_transition(*, order_id: uuid.UUID, to_status: str, actor=None, reason: str = "", at=None) -> Order:
    """Move order ``order_id`` for another app acting as the system (delivery: the parcel was
    picked up, delivery was proven with the buyer's PIN or QR, the carrier failed): locks the
    order (re-entrant when the caller holds it), checks only the transitions map
    (``core.fsm.InvalidTransition``), records ``actor`` in the audit row. ``delivered`` starts the
    buyer-protection window; ``cancelled`` has the side effects of :func:`order_cancel_locked`.
    ``at`` is when it happened (e.g. the proof of delivery's time; default now). The caller checks
    that ``actor`` may do this (e.g. is the assigned courier with the proof)."""
    with transaction.atomic():
        return _move_locked(order=lock_order(order_id), to_status=to_status, actor=actor, reason=reason, at=at)
