"""Signals of the catalogue (sent inside the transaction that changed the products, with them
locked; receivers' writes commit or roll back with it).

``products_changed(sender=Product, product_ids)`` — something a cart shows of these products
changed: price, stock, name, SKU, images, or availability (deactivated, deleted, its store
suspended or activated). The cart room refreshes every cart holding one (version + 1 and
``cart.updated``), locking the carts in pk order after the products.
"""

from django.dispatch import Signal


products_changed = Signal()

#: ``product_reviews_changed(sender=Product, product_id, rating, review)`` — what the public sees
#: of a product's reviews changed (sent by ``commerce.reviews`` in the transaction of the change):
#: ``rating`` is the product's new aggregate (``{"average", "count", "distribution"}``), ``review``
#: the public payload of the review that appeared or changed while it counts (None when a review
#: stopped counting: hidden, or its line refunded). The live product page (``product:``) answers
#: it; the catalogue never imports reviews.
product_reviews_changed = Signal()
