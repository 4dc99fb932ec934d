"""Signals of the tax room (sent inside the transaction that made the change).

``store_tax_settings_changed(sender=StoreTaxSettings, vendor_id)`` — a store switched between
prices with and without tax. The cart room refreshes the carts holding the store's products
(each cart's shipping block says whether the store's prices include tax).
"""

from django.dispatch import Signal

store_tax_settings_changed = Signal()
