"""Signals of the returns room (sent inside the transaction that made the change, with the order
and the return locked; receivers' writes commit or roll back with it).

``return_pickup_requested(sender=ReturnRequest, return_request)`` — the buyer chose the courier
mode for an approved return. The delivery app answers with the id of the return delivery it
created (pickup at the order's address, drop-off at the store's pickup point, the PIN the
store's), and calls ``commerce.returns.services`` back when the parcel is picked up, delivered
with proof, or the delivery failed. No answer (no delivery app) refuses the courier mode.

``return_pickup_cancelled(sender=ReturnRequest, return_request, actor, reason)`` — the open return
delivery is no longer wanted (the buyer cancelled the return, or switched to a carrier before the
pickup): the delivery app cancels it.
"""

from django.dispatch import Signal

return_pickup_requested = Signal()
return_pickup_cancelled = Signal()
