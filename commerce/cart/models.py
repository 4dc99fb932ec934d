"""The server cart: one per signed-in user, or anonymous (addressed by the ``X-Cart-Id`` header).

The database keeps 1 <= quantity <= 999 per line, one line per product and one cart per user.
A cart shows each product's current price (no price is stored). Writes go through
``commerce.cart.services``, which keeps ``version`` and publishes ``cart.updated``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce.catalog.models import Product
from commerce.common.money import DEFAULT_CURRENCY


#: largest quantity of one product in one cart line
MAX_LINE_QUANTITY = 999

#: largest number of lines in one cart
MAX_CART_LINES = 100


class Cart(models.Model):
    """A server cart: one per user (``user`` unique) or anonymous (``user`` null, addressed by its
    id in the ``X-Cart-Id`` header). ``version`` grows by exactly one per change (lines, clear,
    merge, or a price/stock/availability change of a product it holds); clients use it to order
    ``cart.updated`` events. All lines share ``currency``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="cart"
    )
    version = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=0), name="commerce_cart_version_gte_0"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="commerce_cart_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"cart {self.id} ({self.user or 'anonymous'}) v{self.version}"


class CartItem(models.Model):
    """One line of a cart: ``quantity`` (1..999) units of ``product``. The price is not stored:
    a cart shows the product's current price."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="cart_items")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="commerce_cartitem_product_once"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(quantity__lte=MAX_LINE_QUANTITY), name="commerce_cartitem_quantity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"
