"""Permission predicates of returns: who sees a return, who asks for which move, who sets a
store's return policy.

Style of the vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. A return has three sides, as a dispute does: the order's buyer (asks, ships, cancels,
escalates), the store's staff who handle returns (:data:`RETURN_HANDLER_ROLES`: approve or
reject, mark received, inspect, refund) and marketplace admins (see everything and may act for
the store, as they may move an order). The buyer comes first: a store's staff member or an
admin who bought the order is its buyer and cannot decide their own return.
:func:`visible_returns_q` is the queryset form of :func:`can_view_return`.
"""

from __future__ import annotations

from django.db.models import Q

from core.permissions import is_active_user, is_marketplace_admin

from commerce.orders.permissions import is_order_buyer
from commerce.returns.models import ReturnRequest
from commerce.stores.models import VendorStaffRole
from commerce.stores.permissions import is_store_owner, is_store_staff, store_ids_of

#: the store roles that handle returns (approve, reject, receive, inspect, refund)
RETURN_HANDLER_ROLES = (VendorStaffRole.OWNER, VendorStaffRole.MANAGER, VendorStaffRole.STAFF)


def is_return_buyer(user, rma: ReturnRequest) -> bool:
    """The buyer of the return's order: asks, ships, cancels and escalates it. No query."""
    return is_order_buyer(user, rma.order)


def can_view_return(user, rma: ReturnRequest) -> bool:
    """Who reads a return (REST, its photos): its buyer, the staff of its store (any role, any
    store status), a marketplace admin. At most one query."""
    return is_return_buyer(user, rma) or is_marketplace_admin(user) or is_store_staff(user, rma.order.vendor_id)


def can_handle_return(user, rma: ReturnRequest) -> bool:
    """Who decides for the store (approve, reject, receive, inspect, refund): the store's staff
    with a role of :data:`RETURN_HANDLER_ROLES`, or a marketplace admin; never the return's own
    buyer. At most one query."""
    if not is_active_user(user) or is_return_buyer(user, rma):
        return False
    return is_marketplace_admin(user) or is_store_staff(user, rma.order.vendor_id, roles=RETURN_HANDLER_ROLES)


def can_edit_return_policy(user, vendor) -> bool:
    """Who sets a store's return policy: its owner, or a marketplace admin."""
    return is_marketplace_admin(user) or is_store_owner(user, vendor)


def visible_returns_q(user) -> Q:
    """The queryset form of :func:`can_view_return` for ``ReturnRequest`` rows."""
    if is_marketplace_admin(user):
        return Q()
    if not is_active_user(user):
        return Q(pk__in=[])
    return Q(order__buyer=user) | Q(order__vendor_id__in=store_ids_of(user))
