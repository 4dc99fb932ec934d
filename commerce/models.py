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


# ============================================================================================
# Wallet and escrow
# ============================================================================================


class LedgerKind(models.TextChoices):
    """Kinds of wallet ledger entries. ``amount`` is the signed change of ``balance`` and
    ``held_amount`` the signed change of ``held_balance``:

    ``deposit`` (+, 0) money in from a payment gateway; ``hold`` (0, +) funds set aside (auction
    bids); ``release`` (0, −) a hold given back; ``payment`` (−, 0 or −) money out to pay an order,
    from available funds or from a hold; ``refund`` (±, 0) money back to a buyer (+) or taken back
    from a vendor after escrow release (−); ``payout`` (+, 0) escrow released to the vendor;
    ``commission`` (−/+, 0) the marketplace's share of a payout (and its reversal on a refund).
    """

    DEPOSIT = "deposit", "Deposit"
    HOLD = "hold", "Hold"
    RELEASE = "release", "Release"
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"
    PAYOUT = "payout", "Payout"
    COMMISSION = "commission", "Commission"


class Wallet(models.Model):
    """A user's money in one ``currency``: ``balance`` (all funds) of which ``held_balance`` is
    set aside by active holds; available = balance − held. The database keeps
    0 <= held_balance <= balance. Every change goes through ``commerce.wallet`` which appends a
    :class:`LedgerEntry` in the same transaction, so ``balance == Σ entry.amount`` and
    ``held_balance == Σ entry.held_amount`` always."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallets")
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    held_balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    version = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="commerce_wallet_user_currency"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="commerce_wallet_balance_gte_0"),
            models.CheckConstraint(condition=Q(held_balance__gte=0), name="commerce_wallet_held_gte_0"),
            models.CheckConstraint(
                condition=Q(held_balance__lte=models.F("balance")), name="commerce_wallet_held_lte_balance"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="commerce_wallet_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"wallet {self.user_id} {self.balance} {self.currency} (held {self.held_balance})"

    @property
    def available(self) -> Decimal:
        """Funds that can be spent or held now: ``balance − held_balance``."""
        return self.balance - self.held_balance


class LedgerEntry(models.Model):
    """One append-only line of a wallet's ledger (see :class:`LedgerKind` for the signs).
    ``balance_after`` / ``held_after`` are the wallet's figures right after this entry.
    ``reference`` names what caused it (``order:<id>``, ``auction:<id>``, ``deposit:<id>``)."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    held_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    held_after = models.DecimalField(max_digits=14, decimal_places=2)
    reference = models.CharField(max_length=80, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["wallet", "-id"], name="commerce_ledger_wallet")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in LedgerKind]), name="commerce_ledger_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}/{self.held_amount} ({self.reference})"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    CAPTURED = "captured", "Captured"


class WalletHold(models.Model):
    """Funds of ``wallet`` set aside for ``reference`` (one active hold per wallet and reference,
    e.g. ``auction:<id>`` while the user leads it). Released, or captured into a payment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    reference = models.CharField(max_length=80)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "reference"], condition=Q(status="active"), name="commerce_hold_one_active"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_hold_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"hold {self.amount} for {self.reference} ({self.status})"


# ============================================================================================
# Checkout, orders, payments
# ============================================================================================


class CheckoutStatus(models.TextChoices):
    """``active`` while its stock is reserved and not all orders are paid; ``completed`` when
    every order is paid; ``expired`` when the reservation ran out; ``cancelled`` when replaced
    by a newer checkout or cancelled by the buyer."""

    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class Checkout(models.Model):
    """One checkout of a buyer's cart: groups one order per vendor and holds the stock
    reservation until ``expires_at`` (aware UTC)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkouts")
    status = models.CharField(max_length=16, choices=CheckoutStatus.choices, default=CheckoutStatus.ACTIVE)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="commerce_checkout_expiry"),
            models.Index(fields=["buyer", "status"], name="commerce_checkout_buyer"),
        ]

    def __str__(self) -> str:
        return f"checkout {self.id} ({self.status})"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    PROCESSING = "processing", "Processing"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


S = OrderStatus
#: allowed order status transitions {from: {to, ...}} (django-oscar style pipeline); anything
#: else is ``invalid_transition`` (409). ``cancelled`` is possible until the order leaves the
#: store, and after a failed delivery; ``refunded`` (a full refund) once it was paid, except
#: while a courier carries it. ``out_for_delivery``, ``delivered`` and ``delivery_failed`` are
#: reached only through the delivery flow (``commerce.orders.SYSTEM_ONLY``): a picked-up parcel,
#: the buyer's PIN or QR, a courier's failure report. From ``delivery_failed`` the store (or
#: staff) re-dispatches (``ready_for_pickup``: a new delivery attempt) or cancels with a refund.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.PROCESSING, S.CANCELLED, S.REFUNDED}),
    S.PROCESSING: frozenset({S.READY_FOR_PICKUP, S.CANCELLED, S.REFUNDED}),
    S.READY_FOR_PICKUP: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED, S.CANCELLED, S.REFUNDED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.DELIVERY_FAILED}),
    S.DELIVERY_FAILED: frozenset({S.READY_FOR_PICKUP, S.CANCELLED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
del S


class OrderSource(models.TextChoices):
    CART = "cart", "Cart checkout"
    AUCTION = "auction", "Auction"


class Order(models.Model):
    """What one buyer bought from one vendor. Lines, prices and addresses are immutable
    snapshots taken at checkout. ``status`` moves only along :data:`ORDER_TRANSITIONS`
    (``commerce.orders.order_transition``); each move is an :class:`OrderStatusChange`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True)
    checkout = models.ForeignKey(Checkout, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="orders")
    source = models.CharField(max_length=16, choices=OrderSource.choices, default=OrderSource.CART)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    shipping_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=14, decimal_places=2)
    refunded_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    shipping_address = models.JSONField(default=dict)
    billing_address = models.JSONField(default=dict)
    reservation_expires_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="When delivery was proven (PIN or QR)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="commerce_order_buyer"),
            models.Index(fields=["vendor", "status", "-created_at"], name="commerce_order_vendor"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="commerce_order_total_gte_0"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=models.F("total")),
                name="commerce_order_refunded_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OrderStatus]), name="commerce_order_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.number} ({self.status})"

    def can_transition_to(self, status: str) -> bool:
        """True when :data:`ORDER_TRANSITIONS` allows ``self.status -> status``."""
        return status in ORDER_TRANSITIONS.get(self.status, frozenset())


class OrderLine(models.Model):
    """A line of an order: a snapshot of the product (name, SKU, unit price at purchase) and the
    quantity. ``product`` stays linked for stock returns but may be deleted later."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines")
    product_name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    vendor_name = models.CharField(max_length=120)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="commerce_orderline_quantity_gt_0")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku} @ {self.unit_price}"


class OrderStatusChange(models.Model):
    """Audit row: ``order`` went ``from_status -> to_status`` at ``created_at`` by ``actor``
    (null for the system: expiry, payment webhooks) with an optional ``reason``."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONSUMED = "consumed", "Consumed (sold)"
    RELEASED = "released", "Released"


class StockReservation(models.Model):
    """``quantity`` units of ``product`` taken from its stock for ``order`` until
    ``expires_at``. Paying consumes it (the sale); expiry or cancellation releases it (the units
    go back to stock)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reservations")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"], name="commerce_reservation_expiry")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} for {self.order_id} ({self.status})"


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card (payment gateway)"
    WALLET = "wallet", "Wallet"
    WALLET_HOLD = "wallet_hold", "Wallet hold (auction)"


class PaymentStatus(models.TextChoices):
    """Status of a payment attempt or a wallet deposit. ``pending`` from the moment the attempt is
    recorded (before the gateway is called) until the gateway's answer is applied;
    ``needs_refund`` when money was charged but could not be applied (the order was gone, the
    wallet would pass its limit, the settling transaction failed): the reconciliation task
    (``commerce.payments.payments_reconcile``) refunds it at the gateway and marks it
    ``reversed``."""

    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    NEEDS_REFUND = "needs_refund", "Charged, not applied: to be refunded"
    REVERSED = "reversed", "Charged, not applied: refunded"


class Payment(models.Model):
    """An attempt to pay ``order`` (``amount`` in ``currency``). Card payments go through a
    gateway (``gateway``, ``intent_id``); a pending one is settled by the gateway's webhook.
    At most one succeeded payment per order (database constraint). ``refunded_amount`` grows
    with refunds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    gateway = models.CharField(max_length=32, blank=True)
    intent_id = models.CharField(max_length=80, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    failure_code = models.CharField(max_length=64, blank=True)
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    reconcile_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="commerce_payment_status")]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status="succeeded"), name="commerce_payment_one_success"),
            models.UniqueConstraint(
                fields=["gateway", "intent_id"], condition=~Q(intent_id=""), name="commerce_payment_intent_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                name="commerce_payment_refunded_range",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.amount} {self.currency} for {self.order_id} ({self.status})"


class Refund(models.Model):
    """``amount`` given back to the buyer of ``payment``'s order, by ``actor`` (vendor staff or
    admin) for ``reason``. ``gateway_refund_id`` is set for card payments."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    gateway_refund_id = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_refund_amount_gt_0")]


class EscrowStatus(models.TextChoices):
    HELD = "held", "Held"
    RELEASED = "released", "Released to vendor"
    REFUNDED = "refunded", "Refunded to buyer"


class EscrowReleaseReason(models.TextChoices):
    PROTECTION_ELAPSED = "protection_elapsed", "Buyer protection window elapsed"
    RECEIPT_CONFIRMED = "receipt_confirmed", "Buyer confirmed receipt"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved by staff"


class Escrow(models.Model):
    """The buyer's payment for ``order``, held by the marketplace until delivery is proven and the
    **buyer-protection window** has passed: ``release_after`` is set at proven delivery to
    delivered_at + ``BUYER_PROTECTION_DAYS`` (3). Then (or earlier, when the buyer confirms
    receipt) it is released to the vendor owner's wallet less ``commission``; never while a
    dispute of the order is open (``commerce.escrow``). ``amount`` is what is still held (refunds
    before release lower it)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="escrow")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=EscrowStatus.choices, default=EscrowStatus.HELD)
    commission = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    release_after = models.DateTimeField(null=True, blank=True,
                                         help_text="End of the buyer-protection window (set at proven delivery)")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=32, choices=EscrowReleaseReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "release_after"], name="commerce_escrow_due")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="commerce_escrow_amount_gte_0")]

    def __str__(self) -> str:
        return f"escrow {self.amount} {self.currency} of {self.order_id} ({self.status})"


class PaymentWebhookEvent(models.Model):
    """A webhook event received from ``gateway``, unique by ``event_id``: a replayed or
    duplicated delivery finds its row and changes nothing."""

    gateway = models.CharField(max_length=32)
    event_id = models.CharField(max_length=120)
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    result = models.CharField(max_length=40, blank=True,
                              help_text="What the event did after the gateway was asked: payment_succeeded, "
                              "intent_mismatch, intent_pending, unknown_intent…")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="commerce_webhook_event_once")]


class WalletDeposit(models.Model):
    """A top-up of ``user``'s wallet through a card gateway; credited once when it succeeds
    (immediately, or by the gateway's webhook for a pending one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet_deposits")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=32)
    intent_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    failure_code = models.CharField(max_length=64, blank=True)
    reconcile_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="commerce_deposit_status")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="commerce_deposit_amount_gt_0")]


# ============================================================================================
# Disputes (buyer protection)
# ============================================================================================


class DisputeReason(models.TextChoices):
    """Why a buyer disputes a delivered order (``Dispute.reason``)."""

    NOT_RECEIVED = "not_received", "Not received (although the delivery was confirmed)"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    DAMAGED = "damaged", "Arrived damaged"
    WRONG_ITEM = "wrong_item", "Wrong item"
    MISSING_PARTS = "missing_parts", "Parts or items missing"
    OTHER = "other", "Other"


class DisputeStatus(models.TextChoices):
    """``open`` freezes the order's escrow until marketplace staff resolve it (release to the
    store, a partial refund, a full refund) or the buyer withdraws it. The four ends are final."""

    OPEN = "open", "Open"
    RESOLVED_RELEASE = "resolved_release", "Resolved: released to the store"
    RESOLVED_PARTIAL_REFUND = "resolved_partial_refund", "Resolved: partial refund"
    RESOLVED_REFUND = "resolved_refund", "Resolved: full refund"
    WITHDRAWN = "withdrawn", "Withdrawn by the buyer"


D = DisputeStatus
#: the dispute's state map: anything else is ``invalid_transition`` (409)
DISPUTE_TRANSITIONS: dict[str, frozenset[str]] = {
    D.OPEN: frozenset({D.RESOLVED_RELEASE, D.RESOLVED_PARTIAL_REFUND, D.RESOLVED_REFUND, D.WITHDRAWN}),
    D.RESOLVED_RELEASE: frozenset(),
    D.RESOLVED_PARTIAL_REFUND: frozenset(),
    D.RESOLVED_REFUND: frozenset(),
    D.WITHDRAWN: frozenset(),
}
del D


class Dispute(models.Model):
    """A claim about ``order`` that marketplace staff decide (``commerce.disputes``).

    ``source`` says what opened it: ``buyer`` (the buyer, inside the buyer-protection window) or
    another app acting for the buyer (e.g. ``return`` when a rejected return is escalated).
    ``claimed_amount`` is what the buyer asks back (``currency``). While ``open`` the order's
    escrow is frozen: never released, whatever ``release_after`` says. The resolution records
    who (``resolved_by``), when, ``resolution_note``, ``refund_amount`` (to the buyer) and
    ``released_amount`` (to the store). At most one open dispute per order (database
    constraint)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=32, default="buyer")
    reason = models.CharField(max_length=32)
    description = models.TextField()
    claimed_amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    store_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    released_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="commerce_dispute_queue")]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status="open"), name="commerce_dispute_one_open"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in DisputeStatus]),
                                   name="commerce_dispute_status_valid"),
            models.CheckConstraint(condition=Q(claimed_amount__gte=0) & Q(refund_amount__gte=0)
                                   & Q(released_amount__gte=0), name="commerce_dispute_amounts_gte_0"),
        ]

    def __str__(self) -> str:
        return f"dispute {self.id} on {self.order_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN

    def can_transition_to(self, status: str) -> bool:
        return status in DISPUTE_TRANSITIONS.get(self.status, frozenset())


class DisputeRole(models.TextChoices):
    BUYER = "buyer", "Buyer"
    STORE = "store", "Store"
    STAFF = "staff", "Marketplace staff"


class DisputeStatement(models.Model):
    """What one party said in a dispute (append-only): the buyer's case, the store's response,
    staff questions and the resolution note. ``role`` is the author's side at the time."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="statements")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    role = models.CharField(max_length=16, choices=DisputeRole.choices)
    text = models.TextField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"
