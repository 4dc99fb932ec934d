"""Permission predicates of the orders room: who sees an order and who may ask for which move.

The pipeline itself (which moves exist) is :data:`commerce.orders.models.ORDER_MACHINE`, moved
only by ``commerce.orders.services``. Who may *ask* for a move, per object:

* the system only (:data:`SYSTEM_ONLY`): ``paid``, ``refunded``, and the delivery-owned
  ``out_for_delivery``, ``delivered``, ``delivery_failed``; no role may ask for them;
* the staff of the order's store while the store is active: :data:`VENDOR_MOVES`;
* the buyer: ``cancelled`` while :data:`BUYER_CANCELLABLE`;
* a marketplace admin: any move the map allows that is not system-only.

Style of the vocabulary: ``predicate(user, obj, *, options) -> bool``, False for anonymous and
inactive users (docs/architecture.md, "Permission vocabulary").
"""

from __future__ import annotations

from core.permissions import is_active_user, is_marketplace_admin

from commerce.orders.models import ORDER_MACHINE, Order, OrderStatus
from commerce.stores.permissions import MANAGING_ROLES, is_store_staff


#: moves a store's staff may ask for
VENDOR_MOVES = frozenset({OrderStatus.PROCESSING, OrderStatus.READY_FOR_PICKUP, OrderStatus.CANCELLED})

#: statuses from which the buyer may cancel
BUYER_CANCELLABLE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID})

#: moves only the system makes: payments, refunds, and the delivery flow (proof of pickup,
#: proof of delivery, a failed delivery). No role may ask for them.
SYSTEM_ONLY = frozenset({OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.OUT_FOR_DELIVERY,
                         OrderStatus.DELIVERED, OrderStatus.DELIVERY_FAILED})


def is_order_buyer(user, order: Order) -> bool:
    """True when the active ``user`` bought ``order``."""
    return is_active_user(user) and order.buyer_id == user.pk


def can_view_order(user, order: Order) -> bool:
    """Who sees ``order``: its buyer, the staff of its store (any store status, so a suspended
    store still sees its history), a marketplace admin. At most one query."""
    return is_order_buyer(user, order) or is_marketplace_admin(user) or is_store_staff(user, order.vendor_id)


def order_moves_for(user, order: Order) -> list[str]:
    """The statuses ``user`` may move ``order`` to now (the map's moves that the role may ask
    for), sorted. Empty for system-only moves and for people with no say."""
    legal = set(ORDER_MACHINE.allowed(order.status)) - SYSTEM_ONLY
    if not legal or not is_active_user(user):
        return []
    if is_marketplace_admin(user):
        return sorted(legal)
    allowed: set[str] = set()
    if is_store_staff(user, order.vendor_id, active_only=True):
        allowed |= legal & VENDOR_MOVES
    if is_order_buyer(user, order) and order.status in BUYER_CANCELLABLE:
        allowed |= legal & {OrderStatus.CANCELLED}
    return sorted(allowed)


def can_move_order(user, order: Order, to_status: str) -> bool:
    """True when ``user`` may ask for ``order -> to_status`` (:func:`order_moves_for`)."""
    return to_status in order_moves_for(user, order)


def can_refund_order(user, order: Order) -> bool:
    """Who refunds an order: its store's owners and managers (any store status: a suspended store
    still owes refunds; the ``staff`` role handles orders but gives no money back) or a
    marketplace admin."""
    return is_marketplace_admin(user) or is_store_staff(user, order.vendor_id, roles=MANAGING_ROLES)
