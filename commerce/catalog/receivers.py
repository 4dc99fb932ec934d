"""Receivers of the catalogue.

``commerce.stores.signals.vendor_status_changed``: a store's products became available or
unavailable with it; lock them (pk order, under the vendor's lock), send ``products_changed``
so the carts holding them are refreshed, and publish their pages (``product.updated`` or
``product.unavailable`` on each ``product:`` topic).
"""

from __future__ import annotations

from typing import Any

from commerce.catalog.models import Product
from commerce.catalog.pages import publish_pages
from commerce.catalog.signals import products_changed
from commerce.stores.signals import vendor_status_changed


def announce_products_of_changed_vendor(sender: Any = None, *, vendor, **kwargs: Any) -> None:
    """Receiver of ``vendor_status_changed``: lock the vendor's products ``FOR UPDATE`` in pk order
    and send ``products_changed`` for them (nothing when it has none)."""
    product_ids = list(
        Product.objects.select_for_update().filter(vendor=vendor).order_by("pk").values_list("pk", flat=True)
    )
    if product_ids:
        products_changed.send(sender=Product, product_ids=product_ids)
        publish_pages(product_ids=product_ids)


def connect() -> None:
    """Connect the receivers (``CommerceConfig.ready``)."""
    vendor_status_changed.connect(announce_products_of_changed_vendor, dispatch_uid="commerce.catalog.vendor_products")
