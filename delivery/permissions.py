"""Permission predicates of delivery: who watches a delivery, who carries it, who may take it.

Style of the vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. :func:`watchable_deliveries_q` is the queryset form of :func:`can_watch_delivery`.
"""

from __future__ import annotations

from django.db.models import Q

from commerce.orders.permissions import is_order_buyer
from commerce.returns.permissions import RETURN_HANDLER_ROLES
from commerce.stores.permissions import is_store_staff, store_ids_of
from core.permissions import is_active_user, is_courier, is_marketplace_admin
from delivery.models import Delivery, DeliveryStatus


def is_delivery_carrier(user, delivery: Delivery) -> bool:
    """True when the active ``user`` carries ``delivery``: the courier who claimed it, or the
    store's staff member delivering it themselves (``mode`` ``store``). Only they report
    statuses, send positions and complete it with the buyer's proof."""
    return is_active_user(user) and delivery.courier_id is not None and delivery.courier_id == user.pk


def is_delivery_receiver(user, delivery: Delivery) -> bool:
    """Who receives the parcel and holds the proof of delivery (PIN, QR): the buyer of an order;
    for a return delivery, the staff of the store who handle returns
    (``commerce.returns.permissions.RETURN_HANDLER_ROLES``), who give the courier the PIN at the
    store. At most one query."""
    if delivery.is_return:
        return is_store_staff(user, delivery.order.vendor_id, roles=RETURN_HANDLER_ROLES)
    return is_order_buyer(user, delivery.order)


def can_watch_delivery(user, delivery: Delivery) -> bool:
    """Who reads a delivery (REST detail, the ``delivery:`` snapshot): the order's buyer, whoever
    carries it, the staff of the order's store, a marketplace admin. At most one query (the
    store's staff). (After the end the buyer may still read it, without positions.)"""
    if not is_active_user(user):
        return False
    return (is_marketplace_admin(user) or is_delivery_carrier(user, delivery)
            or is_order_buyer(user, delivery.order) or is_store_staff(user, delivery.order.vendor_id))


def can_track_delivery(user, delivery: Delivery) -> bool:
    """Who subscribes to the live ``delivery:<id>`` topic: :func:`can_watch_delivery`, except the
    buyer once tracking ended (delivered, failed, cancelled: positions are withheld)."""
    if not can_watch_delivery(user, delivery):
        return False
    return not (delivery.tracking_ended and is_order_buyer(user, delivery.order))


def can_view_open_delivery(user, delivery: Delivery) -> bool:
    """A courier browsing an unclaimed (``pending``) delivery: sees only its open-list shape
    (pickup point, coarse drop-off area), never the address or the PIN."""
    return is_courier(user) and delivery.status == DeliveryStatus.PENDING


def can_take_delivery_for_store(user, delivery: Delivery) -> bool:
    """Store self-delivery of an order: the staff of the order's store, while the store is
    active (never a return delivery: the store receives it, and marks a parcel it fetched
    itself received)."""
    return not delivery.is_return and is_store_staff(user, delivery.order.vendor_id, active_only=True)


def can_reset_delivery_pin(user, delivery: Delivery | None = None) -> bool:
    """Who unlocks a PIN locked by wrong attempts: marketplace admins."""
    return is_marketplace_admin(user)


def watchable_deliveries_q(user) -> Q:
    """The queryset form of :func:`can_watch_delivery` for ``Delivery`` rows: everything for a
    marketplace admin, nothing for anonymous and inactive users."""
    if is_marketplace_admin(user):
        return Q()
    if not is_active_user(user):
        return Q(pk__in=[])
    return Q(courier=user) | Q(order__buyer=user) | Q(order__vendor_id__in=store_ids_of(user))
