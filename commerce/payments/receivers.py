"""How the payments room answers the rooms below it.

* ``order_status_changed`` to ``delivered`` (the delivery was proven): start the order's
  buyer-protection window (:func:`commerce.payments.escrow.escrow_start_protection`).
* ``order_cancelling`` (a paid order is being cancelled): refund what was not refunded yet
  (:func:`commerce.payments.services.refund_locked`, the order's status is the caller's).
* The orders room's hooks: the escrow and the open dispute joined to order queries
  (``order_queryset``), and ``escrow`` / ``allowed_actions`` in the order's body (``order_extras``).
"""

from __future__ import annotations

from typing import Any

from commerce.orders.hooks import order_extras, order_queryset
from commerce.orders.models import OrderStatus
from commerce.orders.signals import order_cancelling, order_status_changed
from commerce.payments.escrow import escrow_start_protection, order_protection_data, with_escrow
from commerce.payments.services import refund_locked


def start_protection_when_delivered(sender: Any = None, *, order, to_status: str, **kwargs: Any) -> None:
    """Receiver of ``order_status_changed``: on ``delivered`` start the buyer-protection window."""
    if to_status == OrderStatus.DELIVERED:
        escrow_start_protection(order=order)


def refund_cancelled_order(sender: Any = None, *, order, actor=None, reason: str = "", **kwargs: Any) -> None:
    """Receiver of ``order_cancelling``: refund the rest of a paid order (``set_status=False``: the
    order becomes ``cancelled``, not ``refunded``)."""
    remaining = order.total - order.refunded_total
    if remaining > 0:
        refund_locked(order=order, amount=remaining, actor=actor, reason=reason, set_status=False)


def connect() -> None:
    """Connect the receivers and provide the hooks (``CommerceConfig.ready``)."""
    order_status_changed.connect(start_protection_when_delivered, dispatch_uid="commerce.payments.protection")
    order_cancelling.connect(refund_cancelled_order, dispatch_uid="commerce.payments.refund_on_cancel")
    order_queryset.provide(with_escrow)
    order_extras.provide(order_protection_data)
