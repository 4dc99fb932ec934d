"""What the reviews room answers for the rooms below it: a refunded order's reviews stop
counting (``commerce.orders.signals.order_status_changed``), and the catalogue's rating hooks
(``commerce.catalog.hooks``: filter, order and show products by rating)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, IntegerField, QuerySet, Value
from django.db.models.functions import Coalesce

from commerce.catalog import hooks as catalog_hooks
from commerce.orders.models import OrderStatus
from commerce.orders.signals import order_status_changed
from commerce.reviews.selectors import product_latest_reviews, product_rating, rating_data
from commerce.reviews.services import reviews_lines_refunded


def on_order_status_changed(sender, *, order, to_status: str, **kwargs) -> None:
    """An order refunded in full: every review of it stops counting (in the refund's
    transaction, under the order's lock)."""
    if to_status == OrderStatus.REFUNDED:
        reviews_lines_refunded(order=order)


def product_rating_queryset(qs: QuerySet) -> QuerySet:
    """``qs`` of products annotated with ``rating`` (average, 0.00 without reviews) and
    ``rating_count`` from their ``ProductRating`` (one LEFT JOIN)."""
    return qs.annotate(
        rating=Coalesce(F("review_rating__average"), Value(Decimal("0.00")),
                        output_field=DecimalField(max_digits=3, decimal_places=2)),
        rating_count=Coalesce(F("review_rating__count"), Value(0), output_field=IntegerField()))


def product_reviews_summary(*, product_id) -> dict:
    """``{"rating": rating_data, "latest_reviews": [up to 5 public review payloads]}``."""
    return {"rating": rating_data(product_rating(product_id)), "latest_reviews": product_latest_reviews(product_id)}


def connect() -> None:
    """Connect the receivers and provide the hooks (``CommerceConfig.ready``)."""
    order_status_changed.connect(on_order_status_changed, dispatch_uid="reviews.order_refunded")
    catalog_hooks.product_rating_queryset.provide(product_rating_queryset)
    catalog_hooks.product_reviews_summary.provide(product_reviews_summary)
