"""What the orders room provides to rooms below it: the stock a buyer's active checkout holds,
for the cart payload (``commerce.cart.hooks.checkout_reservations``)."""

from __future__ import annotations

from commerce.cart.hooks import checkout_reservations
from commerce.orders.selectors import active_reservation_for


def connect() -> None:
    """Provide the hooks (``CommerceConfig.ready``)."""
    checkout_reservations.provide(active_reservation_for)
