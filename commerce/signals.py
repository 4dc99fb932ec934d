"""Signals other apps listen to (sent inside the transaction that made the change; receivers
run under the same locks, so their writes commit or roll back with it).

``order_status_changed(sender=Order, order, from_status, to_status, actor, reason)`` — after an
order moved (``order`` is locked). Delivery creates its delivery on ``ready_for_pickup``.
"""

from django.dispatch import Signal

order_status_changed = Signal()
