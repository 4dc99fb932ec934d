"""Hooks of the cart room: what it asks rooms above it (``core.hooks``).

``checkout_reservations(user_ids=[...]) -> {user_id: {"checkout_id", "expires_at", "total",
"currency", "order_ids", "quantities": {product_id: units}}}`` — each buyer's active checkout
holding stock (``expires_at`` a ``datetime``, ``total`` a ``Decimal``), shown in their cart
payload (provided by ``commerce.orders``).
"""

from core.hooks import Hook


checkout_reservations: Hook = Hook("commerce.cart.checkout_reservations")
