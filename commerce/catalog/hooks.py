"""Hooks of the catalogue: what it asks the rooms above it (``core.hooks``), provided once at
start-up (``commerce.reviews.receivers``).

``product_reviews_summary(*, product_ids) -> {product_id: [review, …]}`` — the latest reviews
the product page shows (``latest_reviews``: the reviews room's newest counted reviews, at most
5 per product, as public payloads), for several products in a fixed number of queries (the
page of ``GET /products/{id}/``, the ``product:`` snapshot and ``product.updated``). Products
without reviews may be missing from the answer. The rating itself is the catalogue's own
(``Product.rating_count`` / ``rating_sum`` / ``rating_distribution``).
"""

from core.hooks import Hook

product_reviews_summary: Hook = Hook("commerce.catalog.product_reviews_summary")
