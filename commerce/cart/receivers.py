"""Receivers of the cart room.

``core.signals.user_signed_in(sender, user, request)``: merge the anonymous cart the client
names into the user's cart. The anonymous cart id comes from the ``X-Cart-Id`` request header,
or a ``cart_id`` / ``anonymous_cart_id`` field of the request body.

``commerce.catalog.signals.products_changed(product_ids)``: refresh every cart holding one of
the products (:func:`commerce.cart.services.carts_refresh_for_products`).
"""

from __future__ import annotations

import logging
from typing import Any

from core.exceptions import ApplicationError
from core.signals import user_signed_in

from commerce.cart.services import cart_merge_anonymous, carts_refresh_for_products
from commerce.catalog.signals import products_changed

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


def connect() -> None:
    """Connect the receivers (``CommerceConfig.ready``)."""
    user_signed_in.connect(merge_anonymous_cart_on_sign_in, dispatch_uid="commerce.merge_anonymous_cart")
    products_changed.connect(refresh_carts_of_changed_products, dispatch_uid="commerce.cart.refresh_on_products")
