"""The catalogue: categories (a tree), brands, products with their images, and the price and stock
history of each product.

Money is ``Decimal`` with two places (``DecimalField(max_digits=12, decimal_places=2)``) plus an
ISO 4217 currency code. The database keeps price >= 0, stock >= 0 and one live SKU per vendor.
Writes go through ``commerce.catalog.services``; reads through ``commerce.catalog.selectors``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.contrib.postgres.indexes import GinIndex

from commerce.common.money import DEFAULT_CURRENCY
from commerce.stores.models import Vendor, VendorStatus
from commerce.tax.models import TaxClass


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


def empty_distribution() -> list[int]:
    """No review of any star count: ``[0, 0, 0, 0, 0]`` (1 to 5 stars)."""
    return [0, 0, 0, 0, 0]


#: the most units of one product a store may hold
MAX_STOCK = 2_000_000_000

#: a product whose stock is at or under this (and above 0) shows "low stock", unless its store
#: sets its own threshold (:class:`CatalogSettings`)
DEFAULT_LOW_STOCK_THRESHOLD = 5


class CatalogSettings(models.Model):
    """A store's catalogue settings (one per store, none means the defaults):
    ``low_stock_threshold`` — a product with ``0 < stock <= threshold`` shows ``low_stock`` on
    its page and its ``product:`` topic (0 turns the flag off)."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, primary_key=True, related_name="catalog_settings")
    low_stock_threshold = models.PositiveIntegerField(default=DEFAULT_LOW_STOCK_THRESHOLD)

    class Meta:
        verbose_name_plural = "catalog settings"

    def __str__(self) -> str:
        return f"catalogue settings of {self.vendor_id}"


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
    ["Golf VII"], "diameter_mm": 76}``). ``tax_class`` picks the tax rate (``commerce.tax``);
    ``weight_g`` and the packed dimensions (``length_mm``, ``width_mm``, ``height_mm``) price
    shipping by weight (``commerce.shipping``; unknown: null). Soft delete sets ``deleted_at``; the default manager
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
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD)
    weight_g = models.PositiveIntegerField(null=True, blank=True, help_text="Shipping weight of one unit, grams")
    length_mm = models.PositiveIntegerField(null=True, blank=True, help_text="Packed length of one unit, millimetres")
    width_mm = models.PositiveIntegerField(null=True, blank=True, help_text="Packed width of one unit, millimetres")
    height_mm = models.PositiveIntegerField(null=True, blank=True, help_text="Packed height of one unit, millimetres")
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The rating aggregate of the product's visible reviews. Catalogue owns the columns; the
    # reviews room (above catalog) keeps them exact through ``commerce.catalog.services.
    # product_rating_apply`` / ``product_rating_set`` in the transaction of the review change.
    rating_count = models.PositiveIntegerField(default=0, help_text="visible reviews counted")
    rating_sum = models.PositiveBigIntegerField(default=0, help_text="sum of their stars (1-5 each)")
    rating_distribution = ArrayField(
        models.PositiveIntegerField(), size=5, default=empty_distribution,
        help_text="reviews with 1, 2, 3, 4 and 5 stars",
    )

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
            models.CheckConstraint(
                condition=Q(rating_sum__gte=models.F("rating_count")) & Q(rating_sum__lte=models.F("rating_count") * 5),
                name="commerce_product_rating_sum_in_range",
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
    """An image of a product, ordered by ``position``; exactly one of a product's images is its
    ``is_primary`` one (lists, carts and orders show it) while it has any.

    Two sources: an **upload** (``file``: the re-encoded image without metadata, with its two
    thumbnails ``thumbnail_small`` and ``thumbnail_large``, all in Django's default storage —
    ``commerce.catalog.media``), or a **link** (``url``: an image hosted elsewhere, given in a
    product's ``images`` list, e.g. by a catalogue import). ``width``/``height`` in pixels and
    ``size_bytes`` describe the stored upload.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    url = models.CharField(max_length=500, blank=True, help_text="A linked image's URL (empty for an upload)")
    file = models.FileField(upload_to="products/", max_length=200, blank=True)
    thumbnail_small = models.FileField(upload_to="products/", max_length=200, blank=True)
    thumbnail_large = models.FileField(upload_to="products/", max_length=200, blank=True)
    content_type = models.CharField(max_length=32, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_primary = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=Q(is_primary=True),
                                    name="commerce_productimage_one_primary"),
            models.CheckConstraint(condition=~Q(url="") | ~Q(file=""), name="commerce_productimage_has_source"),
        ]

    def __str__(self) -> str:
        return self.file.name or self.url


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


class CatalogImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (the file could not be read, or the job kept losing its worker)"


class CatalogImport(models.Model):
    """One upload of a store's catalogue (CSV or XLSX, :mod:`commerce.catalog.spreadsheet`) and
    what its Celery job did with it (:mod:`commerce.catalog.imports`).

    The file is kept in the row (``source``, at most ``CATALOG_IMPORT_MAX_BYTES``) so the worker
    reads it from the database wherever it runs. ``total_rows`` data rows; ``rows_done`` of them
    processed so far, each ``created``, ``updated``, ``unchanged`` or an error; ``errors`` is the
    per-row report ``[{"line", "sku", "field", "message"}]`` (``line`` as a spreadsheet numbers
    it: the header is line 1). ``detail`` says why a ``failed`` import stopped (the file could not
    be read at all, or its worker was lost too often: ``commerce.catalog.imports.
    catalog_imports_recover``). ``heartbeat_at`` is renewed with every committed chunk;
    ``attempts`` counts the runs started (a run whose worker was lost is resumed once)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="catalog_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=200)
    file_format = models.CharField(max_length=8)
    source = models.BinaryField()
    status = models.CharField(max_length=16, choices=CatalogImportStatus.choices, default=CatalogImportStatus.QUEUED)
    detail = models.CharField(max_length=500, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True,
                                        help_text="last sign of life of the running job (each committed chunk)")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="runs started (a lost worker's run is resumed)")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["vendor", "-created_at"], name="commerce_catimport_vendor"),
                   models.Index(fields=["heartbeat_at"], condition=Q(status="running"),
                                name="commerce_catimport_running")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in CatalogImportStatus]),
                                   name="commerce_catimport_status_valid"),
            models.CheckConstraint(condition=Q(file_format__in=["csv", "xlsx"]), name="commerce_catimport_format"),
        ]

    def __str__(self) -> str:
        return f"import {self.file_name} ({self.status})"
