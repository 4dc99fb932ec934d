"""Hooks of the catalogue: what it asks the rooms above it (``core.hooks``), provided once at
start-up (``commerce.reviews.receivers``).

``product_rating_queryset(qs) -> qs`` — the product queryset annotated with ``rating`` (the
average stars, ``Decimal`` with 2 places, 0 without reviews) and ``rating_count``, so the
catalogue filters (``min_rating``) and orders (``ordering=-rating``) by rating and renders it
without a query per product (reviews: its ``ProductRating`` aggregates).

``product_reviews_summary(*, product_id) -> dict`` — ``{"rating": {"average", "count",
"distribution"}, "latest_reviews": [review, …]}`` for the product detail (reviews: the aggregate
and the newest counted reviews).
"""

from core.hooks import Hook

product_rating_queryset: Hook = Hook("commerce.catalog.product_rating_queryset")

product_reviews_summary: Hook = Hook("commerce.catalog.product_reviews_summary")
