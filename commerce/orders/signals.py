"""Signals of the orders room (sent inside the transaction that made the change; receivers run
under the same locks, so their writes commit or roll back with it).

``order_status_changed(sender=Order, order, from_status, to_status, actor, reason)`` — after an
order moved (``order`` is locked). Delivery creates a delivery attempt on ``ready_for_pickup``
and cancels the open one on ``cancelled`` / ``refunded``; payments starts the buyer-protection
window on ``delivered`` (``commerce.payments.receivers``).

``order_cancelling(sender=Order, order, actor, reason)`` — a paid order (paid or later) is about
to be cancelled (``order`` is locked, its status not yet changed). Payments refunds what was not
refunded yet; a refusal (``ApplicationError``) aborts the cancellation.
"""

from django.dispatch import Signal

order_status_changed = Signal()
order_cancelling = Signal()
