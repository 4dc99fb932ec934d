"""Signals of the catalogue (sent inside the transaction that changed the products, with them
locked; receivers' writes commit or roll back with it).

``products_changed(sender=Product, product_ids)`` — something a cart shows of these products
changed: price, stock, name, SKU, images, or availability (deactivated, deleted, its store
suspended or activated). The cart room refreshes every cart holding one (version + 1 and
``cart.updated``), locking the carts in pk order after the products.
"""

from django.dispatch import Signal


products_changed = Signal()
