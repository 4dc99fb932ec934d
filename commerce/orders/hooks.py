"""Hooks of the orders room: what it asks rooms above it (``core.hooks``). Each is provided once
at start-up (``commerce.payments.receivers``, ``commerce.disputes.receivers``).

``order_queryset(qs) -> qs`` — the order queryset with what :data:`order_extras` reads already
joined (payments: the escrow and the open dispute's id), so a page of orders costs no query per
order.

``order_extras(*, user, order) -> dict`` — keys added to the order's REST body for ``user``
(payments: ``escrow`` and ``allowed_actions``, the buyer protection).

``vendor_desk_extras(*, vendor) -> dict`` — keys added to the ``vendor:<id>`` topic snapshot
(disputes: ``open_disputes``).
"""

from core.hooks import Hook


order_queryset: Hook = Hook("commerce.orders.order_queryset")


order_extras: Hook = Hook("commerce.orders.order_extras")


vendor_desk_extras: Hook = Hook("commerce.orders.vendor_desk_extras")
