"""Permission predicates of disputes: which side a person takes, who sees, withdraws and resolves.

Style of the vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. A dispute has three sides (:func:`dispute_role`): the order's buyer, the staff of its
store, and marketplace admins (``staff``), in that order of precedence: a store's staff member
who also administers the marketplace speaks for the store in their own store's disputes and
cannot decide them. :func:`visible_disputes_q` is the queryset form of :func:`can_view_dispute`.
"""

from __future__ import annotations

from django.db.models import Q

from core.permissions import is_active_user, is_marketplace_admin

from commerce.disputes.models import Dispute, DisputeRole
from commerce.orders.models import Order
from commerce.orders.permissions import is_order_buyer
from commerce.stores.permissions import is_store_staff, store_ids_of


def dispute_role(user, order: Order) -> str | None:
    """``buyer``, ``store``, ``staff`` (a marketplace admin) or None: the side ``user`` takes in
    disputes about ``order``. At most one query (the store's staff)."""
    if not is_active_user(user):
        return None
    if is_order_buyer(user, order):
        return DisputeRole.BUYER
    if is_store_staff(user, order.vendor_id):
        return DisputeRole.STORE
    if is_marketplace_admin(user):
        return DisputeRole.STAFF
    return None


def can_view_dispute(user, dispute: Dispute) -> bool:
    """Who sees a dispute and adds statements to it: any of its sides (:func:`dispute_role`)."""
    return dispute_role(user, dispute.order) is not None


def can_withdraw_dispute(user, dispute: Dispute) -> bool:
    """Who withdraws a dispute: the order's buyer."""
    return is_order_buyer(user, dispute.order)


def can_resolve_dispute(user, dispute: Dispute) -> bool:
    """Who decides a dispute: a marketplace admin who is neither its buyer nor staff of its
    store (side ``staff``)."""
    return dispute_role(user, dispute.order) == DisputeRole.STAFF


def can_see_dispute_queue(user) -> bool:
    """Who sees the queue of open disputes and the staff's names in statements: marketplace
    admins."""
    return is_marketplace_admin(user)


def visible_disputes_q(user) -> Q:
    """The queryset form of :func:`can_view_dispute` for ``Dispute`` rows."""
    if is_marketplace_admin(user):
        return Q()
    if not is_active_user(user):
        return Q(pk__in=[])
    return Q(order__buyer=user) | Q(order__vendor_id__in=store_ids_of(user))
