"""Commerce data: vendors (stores), the catalogue (categories, brands, products, images, price and
stock history) and the server cart.

Money is ``Decimal`` with two places (``DecimalField(max_digits=12, decimal_places=2)``) plus an
ISO 4217 currency code (three upper-case letters). Invariants the database enforces: price >= 0,
stock >= 0, 1 <= cart quantity <= 999, one cart per user, one cart line per product, SKU unique
per vendor among live (not soft-deleted) products.

Business rules (who may do what, status transitions, publishing) live in ``commerce.services``;
reads in ``commerce.selectors``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

DEFAULT_CURRENCY = "EUR"
#: largest quantity of one product in one cart line
MAX_LINE_QUANTITY = 999
#: largest number of lines in one cart
MAX_CART_LINES = 100


# --- Vendors --------------------------------------------------------------------------------


class VendorStatus(models.TextChoices):
    """Life cycle of a store: ``pending -> active -> suspended`` (and back to ``active``)."""

    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


#: allowed status transitions {from: {to, ...}}; anything else is ``invalid_transition`` (409)
VENDOR_TRANSITIONS: dict[str, frozenset[str]] = {
    VendorStatus.PENDING: frozenset({VendorStatus.ACTIVE}),
    VendorStatus.ACTIVE: frozenset({VendorStatus.SUSPENDED}),
    VendorStatus.SUSPENDED: frozenset({VendorStatus.ACTIVE}),
}


class Vendor(models.Model):
    """A store. Created ``pending`` by the user who applies (its owner); an admin activates or
    suspends it. Only an ``active`` vendor's products are public and purchasable. People who act
    for the store are its :class:`VendorStaff` (the owner is one of them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=VendorStatus.choices, default=VendorStatus.PENDING)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_vendors")
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="VendorStaff", related_name="vendors", blank=True
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["status"], name="commerce_vendor_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in VendorStatus]), name="commerce_vendor_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == VendorStatus.ACTIVE

    def can_transition_to(self, status: str) -> bool:
        """True when ``VENDOR_TRANSITIONS`` allows ``self.status -> status``."""
        return status in VENDOR_TRANSITIONS.get(self.status, frozenset())


class VendorStaffRole(models.TextChoices):
    OWNER = "owner", "Owner"
    STAFF = "staff", "Staff"


class VendorStaff(models.Model):
    """Membership of a user in a store's staff (the owner has role ``owner``)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships")
    role = models.CharField(max_length=16, choices=VendorStaffRole.choices, default=VendorStaffRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "vendor staff"
        constraints = [models.UniqueConstraint(fields=["vendor", "user"], name="commerce_vendorstaff_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor.name} ({self.role})"


# --- Catalogue ------------------------------------------------------------------------------


class Category(models.Model):
    """A node of the category tree (``parent`` is null for roots). ``slug`` is unique among
    siblings."""

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "slug"], name="commerce_category_slug_per_parent"),
            models.UniqueConstraint(
                fields=["slug"], condition=Q(parent__isnull=True), name="commerce_category_root_slug"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    """A manufacturer or label (optional on a product)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet):
    def alive(self) -> "ProductQuerySet":
        """Products not soft-deleted."""
        return self.filter(deleted_at__isnull=True)

    def public(self) -> "ProductQuerySet":
        """What anyone may see and buy: alive, active, of an active vendor."""
        return self.filter(deleted_at__isnull=True, is_active=True, vendor__status=VendorStatus.ACTIVE)


class Product(models.Model):
    """An article a vendor sells. ``price`` is per unit in ``currency``; ``stock`` is the number of
    units on hand (>= 0). ``attributes`` is a flat JSON object (``{"brand": "Bosch", "fits":
    ["Golf VII"], "diameter_mm": 76}``). Soft delete sets ``deleted_at``; the default manager
    keeps deleted rows (orders refer to them) — use ``Product.objects.alive()`` / ``.public()``
    or the selectors."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    sku = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    stock = models.IntegerField(default=0)
    attributes = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal("0")), name="commerce_product_price_gte_0"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="commerce_product_stock_gte_0"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="commerce_product_currency_iso"),
            models.UniqueConstraint(
                fields=["vendor", "sku"], condition=Q(deleted_at__isnull=True), name="commerce_product_sku_per_vendor"
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "is_active"], name="commerce_product_vendor"),
            models.Index(fields=["category"], name="commerce_product_category"),
            models.Index(fields=["price"], name="commerce_product_price"),
            models.Index(fields=["created_at"], name="commerce_product_created"),
            models.Index(fields=["sku"], name="commerce_product_sku"),
            GinIndex(fields=["attributes"], opclasses=["jsonb_path_ops"], name="commerce_product_attrs"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.sku}]"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_purchasable(self) -> bool:
        """Alive, active and of an active vendor (loads ``vendor``)."""
        return self.deleted_at is None and self.is_active and self.vendor.status == VendorStatus.ACTIVE


class ProductImage(models.Model):
    """An image of a product: a URL or storage path (no upload handling here), ordered by
    ``position`` (the first is the main image)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    url = models.CharField(max_length=500)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.url


class ProductPriceChange(models.Model):
    """History: the price of ``product`` went from ``old_price`` to ``new_price`` (``currency``)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_changes")
    old_price = models.DecimalField(max_digits=12, decimal_places=2)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "-created_at"], name="commerce_pricechange_product")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.old_price} -> {self.new_price} {self.currency}"


class ProductStockChange(models.Model):
    """History: the stock of ``product`` went from ``old_stock`` to ``new_stock`` because of
    ``reason`` (``vendor_update``, ``order``, ``reservation``, ``seed``...)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_changes")
    old_stock = models.IntegerField()
    new_stock = models.IntegerField()
    reason = models.CharField(max_length=64, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "-created_at"], name="commerce_stockchange_product")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.old_stock} -> {self.new_stock} ({self.reason})"


# --- Cart -----------------------------------------------------------------------------------


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

    @property
    def topic(self) -> str | None:
        """The realtime topic of this cart (``cart:<user_id>``), None for an anonymous cart."""
        return f"cart:{self.user_id}" if self.user_id else None


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
