"""The ``product:<product_id>`` topic: the live product page.

Who: any signed-in, active user who may see the product (``selectors.can_view_product_page``):
a product on sale for everyone; an inactive product, or one of a store that is not active, only
for that store's staff; a deleted product, a malformed or an unknown id for nobody
(``forbidden``). Anonymous visitors read the page over REST only.

Snapshot: the product page, the same body as ``GET /api/v1/products/{id}/``
(``commerce.catalog.pages.product_page``). Events (``commerce.catalog.events``):
``product.updated``, ``product.rating_changed``, ``product.unavailable``; no commands.
"""

from __future__ import annotations

from typing import Any

from core.exceptions import Forbidden, NotFound
from realtime.registry import Topic, register

from commerce.catalog.events import PRODUCT_TOPIC
from commerce.catalog.pages import product_page
from commerce.catalog.selectors import can_view_product_page


@register
class ProductTopic(Topic):
    """``product:<product_id>``: signed-in users who may see the product."""

    kind = PRODUCT_TOPIC.kind

    def authorize(self, *, user, key: str) -> bool:
        return can_view_product_page(user=user, product_id=key)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not follow {PRODUCT_TOPIC.name(key)}.", code="forbidden")
        try:
            return product_page(user=user, product_id=key)
        except NotFound:  # hidden between authorize and snapshot
            raise Forbidden(f"You may not follow {PRODUCT_TOPIC.name(key)}.", code="forbidden") from None
