"""What the reviews room answers for the rooms below it: a refunded order's reviews stop
counting (``commerce.orders.signals.order_status_changed``), and the catalogue's product page
shows the latest reviews (``commerce.catalog.hooks.product_reviews_summary``)."""

from __future__ import annotations

from commerce.catalog import hooks as catalog_hooks
from commerce.orders.models import OrderStatus
from commerce.orders.signals import order_status_changed
from commerce.reviews.selectors import products_latest_reviews
from commerce.reviews.services import reviews_lines_refunded


def on_order_status_changed(sender, *, order, to_status: str, **kwargs) -> None:
    """An order refunded in full: every review of it stops counting (in the refund's
    transaction, under the order's lock)."""
    if to_status == OrderStatus.REFUNDED:
        reviews_lines_refunded(order=order)


def connect() -> None:
    """Connect the receivers and provide the hooks (``CommerceConfig.ready``)."""
    order_status_changed.connect(on_order_status_changed, dispatch_uid="reviews.order_refunded")
    catalog_hooks.product_reviews_summary.provide(products_latest_reviews)
