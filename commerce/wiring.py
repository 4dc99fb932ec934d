"""How the commerce rooms are wired at start-up (``CommerceConfig.ready``): the topics the rooms
own are registered (``cart:``, ``vendor:``, ``product:``), and each room's receivers connect to the signals and
provide the hooks of the rooms below it. The one place that knows every room; a composition
module, like ``commerce.models``, ``commerce.admin`` and ``commerce.urls``."""

from __future__ import annotations

from commerce.cart import realtime as cart_topic  # noqa: F401  (registers the cart: topic)
from commerce.cart import receivers as cart_receivers
from commerce.catalog import realtime as product_topic  # noqa: F401  (registers the product: topic)
from commerce.catalog import receivers as catalog_receivers
from commerce.disputes import receivers as dispute_receivers
from commerce.invoices import receivers as invoice_receivers
from commerce.orders import realtime as vendor_topic  # noqa: F401  (registers the vendor: topic)
from commerce.orders import receivers as order_receivers
from commerce.payments import receivers as payment_receivers
from commerce.stores import receivers as store_receivers
from commerce.returns import receivers as return_receivers
from commerce.reviews import receivers as review_receivers


def connect() -> None:
    """Connect every room's receivers and provide every hook (idempotent)."""
    for room in (store_receivers, catalog_receivers, cart_receivers, order_receivers, payment_receivers, invoice_receivers,
                 dispute_receivers, review_receivers, return_receivers):
        room.connect()
