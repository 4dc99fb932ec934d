"""Signals of the shipping room (sent inside the transaction that made the change).

``shipping_methods_changed(sender=ShippingMethod, vendor_id)`` — a store's zones or methods
changed (created, edited, switched off, deleted). The cart room refreshes every cart holding
the store's products: their shipping block lists the methods and prices on offer.
"""

from django.dispatch import Signal

shipping_methods_changed = Signal()
