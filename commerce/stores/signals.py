"""Signals of the stores room (sent inside the transaction that made the change, with the vendor
locked; receivers' writes commit or roll back with it).

``vendor_status_changed(sender=Vendor, vendor, from_status, to_status, actor)`` — after a store
moved along ``VENDOR_TRANSITIONS``. The catalogue re-announces the store's products as changed,
so every cart holding one shows its new availability.
"""

from django.dispatch import Signal


vendor_status_changed = Signal()
