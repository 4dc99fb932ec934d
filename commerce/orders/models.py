"""Checkout and orders: a checkout of a cart, one order per vendor with its lines, the audit trail
of every status move, and the stock reservations a checkout holds.

``Order.status`` moves only along :data:`ORDER_TRANSITIONS`; ``commerce.orders.services`` is the
one owner of that pipeline. Lines, prices and addresses are snapshots taken at checkout.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.fsm import StateMachine

from commerce.catalog.models import Product
from commerce.shipping.models import ShippingMethod
from commerce.stores.models import Vendor
from commerce.tax.models import TaxClass


class CheckoutStatus(models.TextChoices):
    """``active`` while its stock is reserved and not all orders are paid; ``completed`` when
    every order is paid; ``expired`` when the reservation ran out; ``cancelled`` when replaced
    by a newer checkout or cancelled by the buyer."""

    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


#: a checkout's moves: it ends once, paid (``completed``, ``commerce.payments`` through
#: ``checkout_complete_if_paid``), run out (``expired``) or given up (``cancelled``)
CHECKOUT_TRANSITIONS: dict[str, frozenset[str]] = {
    CheckoutStatus.ACTIVE: frozenset({CheckoutStatus.COMPLETED, CheckoutStatus.EXPIRED, CheckoutStatus.CANCELLED}),
    CheckoutStatus.COMPLETED: frozenset(),
    CheckoutStatus.EXPIRED: frozenset(),
    CheckoutStatus.CANCELLED: frozenset(),
}

#: the checkout's state machine (``core.fsm``); only ``commerce.orders.checkout`` moves it
CHECKOUT_MACHINE = StateMachine("checkout", CHECKOUT_TRANSITIONS)


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
#: reached only through the delivery flow (``commerce.orders.selectors.SYSTEM_ONLY``): a picked-up parcel,
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

#: the order's state machine (``core.fsm``); only ``commerce.orders.services`` moves it
ORDER_MACHINE = StateMachine("order", ORDER_TRANSITIONS)

del S


class OrderSource(models.TextChoices):
    CART = "cart", "Cart checkout"
    AUCTION = "auction", "Auction"


class Order(models.Model):
    """What one buyer bought from one vendor. Lines, prices and addresses are immutable
    snapshots taken at checkout. ``status`` moves only along :data:`ORDER_TRANSITIONS`
    (``commerce.orders.services.order_transition``); each move is an :class:`OrderStatusChange`.

    Money (``Decimal``, ``currency``): ``subtotal`` is what the lines cost the buyer (their
    ``gross_total``s), ``shipping_total`` the shipping fee (gross: ``shipping_net +
    shipping_tax``), ``total = subtotal + shipping_total`` what is paid, ``tax_total`` the tax
    in it (lines and shipping, rounded per line: ``commerce.tax.calculation``), at the rates of
    ``tax_country`` (the shipping address's). ``prices_include_tax`` is how the store entered
    its prices. ``shipping_method`` (kept null once the store deletes it) and
    ``shipping_method_data`` (``commerce.shipping.selectors.method_snapshot``: what the fee was
    computed from) say how it ships; auction orders have no method and no fee."""

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
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    prices_include_tax = models.BooleanField(default=True)
    tax_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 of the rates applied")
    shipping_method = models.ForeignKey(ShippingMethod, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    shipping_method_data = models.JSONField(default=dict, blank=True)
    shipping_tax_class = models.CharField(max_length=16, choices=TaxClass.choices, blank=True)
    shipping_tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    shipping_net = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    shipping_tax = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
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
            models.CheckConstraint(condition=Q(total=models.F("subtotal") + models.F("shipping_total")),
                                   name="commerce_order_total_sum"),
            models.CheckConstraint(condition=Q(shipping_total=models.F("shipping_net") + models.F("shipping_tax")),
                                   name="commerce_order_shipping_tax_sum"),
            models.CheckConstraint(condition=Q(tax_total__gte=0) & Q(tax_total__lte=models.F("total")),
                                   name="commerce_order_tax_range"),
        ]

    def __str__(self) -> str:
        return f"order {self.number} ({self.status})"

    def can_transition_to(self, status: str) -> bool:
        """True when :data:`ORDER_TRANSITIONS` allows ``self.status -> status``."""
        return ORDER_MACHINE.can(self.status, status)


class OrderLine(models.Model):
    """A line of an order: a snapshot of the product (name, SKU, unit price at purchase) and the
    quantity. ``product`` stays linked for stock returns but may be deleted later.

    ``unit_price`` and ``line_total = unit_price x quantity`` are as the store lists them (with
    tax when the order's ``prices_include_tax``, else without); the tax line is ``tax_class``,
    ``tax_rate`` (percent) and ``net_total + tax_amount = gross_total`` (rounded once, half-up,
    ``commerce.tax.calculation.tax_line``)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines")
    product_name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    vendor_name = models.CharField(max_length=120)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    net_total = models.DecimalField(max_digits=14, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    gross_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="commerce_orderline_quantity_gt_0"),
            models.CheckConstraint(condition=Q(gross_total=models.F("net_total") + models.F("tax_amount")),
                                   name="commerce_orderline_tax_sum"),
        ]

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


#: a stock reservation's moves: paying consumes it (the sale), expiry or cancellation releases
#: it (the units go back to stock)
RESERVATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ReservationStatus.ACTIVE: frozenset({ReservationStatus.CONSUMED, ReservationStatus.RELEASED}),
    ReservationStatus.CONSUMED: frozenset(),
    ReservationStatus.RELEASED: frozenset(),
}

#: the reservation's state machine (``core.fsm``); only ``commerce.orders.services`` moves it
#: (in bulk: ``UPDATE`` filtered on the statuses its ``sources`` names)
RESERVATION_MACHINE = StateMachine("stock reservation", RESERVATION_TRANSITIONS)


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
