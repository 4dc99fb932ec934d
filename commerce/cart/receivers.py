"""Receivers of the cart room.

``core.signals.user_signed_in(sender, user, request)``: merge the anonymous cart the client
names into the user's cart. The anonymous cart id comes from the ``X-Cart-Id`` request header,
or a ``cart_id`` / ``anonymous_cart_id`` field of the request body.

``commerce.catalog.signals.products_changed(product_ids)``: refresh every cart holding one of
the products (:func:`commerce.cart.services.carts_refresh_for_products`).

``commerce.shipping.signals.shipping_methods_changed(vendor_id)`` and
``commerce.tax.signals.store_tax_settings_changed(vendor_id)``: refresh every cart holding one
of the store's products (their ``shipping`` block shows its methods, prices and tax setting).

``core.signals.addresses_changed(user_id)``: refresh the user's cart (the shipping offer is for
the default shipping address).
"""

from __future__ import annotations

import logging
from typing import Any

from core.exceptions import ApplicationError
from core.signals import addresses_changed, user_signed_in

from commerce.cart.services import (
    cart_merge_anonymous,
    cart_refresh_for_user,
    carts_refresh_for_products,
    carts_refresh_for_vendor,
)
from commerce.catalog.signals import products_changed
from commerce.shipping.signals import shipping_methods_changed
from commerce.tax.signals import store_tax_settings_changed

logger = logging.getLogger(__name__)


def _anonymous_cart_id(request: Any) -> str | None:
    if request is None:
        return None
    headers = getattr(request, "headers", None)
    value = headers.get("X-Cart-Id") if headers is not None else None
    if value:
        return str(value).strip()
    try:
        data = getattr(request, "data", None)
    except Exception:  # noqa: BLE001 - an unparsable body just means "no cart id"
        data = None
    if hasattr(data, "get"):
        for key in ("cart_id", "anonymous_cart_id"):
            if data.get(key):
                return str(data.get(key)).strip()
    return None


def merge_anonymous_cart_on_sign_in(sender: Any = None, *, user: Any, request: Any = None, **kwargs: Any) -> None:
    """Receiver of ``user_signed_in``: ``cart_merge_anonymous(user=user, anonymous_cart_id=...)``
    when the request names an anonymous cart. Never makes sign-in fail: refusals are logged."""
    cart_id = _anonymous_cart_id(request)
    if not cart_id or user is None:
        return
    try:
        cart_merge_anonymous(user=user, anonymous_cart_id=cart_id)
    except ApplicationError as exc:
        logger.info("cart merge at sign-in skipped for %s: %s", getattr(user, "pk", None), exc.detail)


def refresh_carts_of_changed_products(sender: Any = None, *, product_ids, **kwargs: Any) -> None:
    """Receiver of ``products_changed``: every cart holding one of ``product_ids`` gets version + 1
    and ``cart.updated`` (inside the sender's transaction, after its product locks)."""
    carts_refresh_for_products(product_ids=product_ids)


def refresh_carts_of_store(sender: Any = None, *, vendor_id, **kwargs: Any) -> None:
    """Receiver of ``shipping_methods_changed`` and ``store_tax_settings_changed``: every cart
    holding one of the store's products gets version + 1 and ``cart.updated``."""
    carts_refresh_for_vendor(vendor_id=vendor_id)


def refresh_cart_of_user(sender: Any = None, *, user_id, **kwargs: Any) -> None:
    """Receiver of ``addresses_changed``: the user's cart (if it has lines) gets version + 1 and
    ``cart.updated``."""
    cart_refresh_for_user(user_id=user_id)


def connect() -> None:
    """Connect the receivers (``CommerceConfig.ready``)."""
    user_signed_in.connect(merge_anonymous_cart_on_sign_in, dispatch_uid="commerce.merge_anonymous_cart")
    products_changed.connect(refresh_carts_of_changed_products, dispatch_uid="commerce.cart.refresh_on_products")
    shipping_methods_changed.connect(refresh_carts_of_store, dispatch_uid="commerce.cart.refresh_on_shipping")
    store_tax_settings_changed.connect(refresh_carts_of_store, dispatch_uid="commerce.cart.refresh_on_tax_settings")
    addresses_changed.connect(refresh_cart_of_user, dispatch_uid="commerce.cart.refresh_on_addresses")
