"""Checkout: a live cart becomes one ``pending_payment`` order per vendor with its stock reserved.

:func:`checkout_create` (``POST /api/v1/checkout/`` with an ``Idempotency-Key``):

1. locks the buyer's previous active checkout (it is replaced: its reservations go back first),
2. locks every product involved (the cart's and the previous reservation's) ``FOR UPDATE`` in
   primary-key order, then the cart, and re-reads the cart under the lock,
3. checks every line: purchasable, one currency, enough stock. Short lines give one ``Conflict``
   ``insufficient_stock`` (409) naming all of them (``lines: [{product_id, sku, name,
   requested, available}]``) and nothing is reserved,
4. prices shipping: every store of the cart needs the buyer's choice of one of its methods
   (``shipping_methods: {vendor_id: method_id}``), offered for this address and parcel now
   (``commerce.shipping.selectors.quotes_for_baskets``, the same function the cart shows).
   None chosen for a store: ``ApplicationError`` ``shipping_method_required`` (400) with
   ``vendors: [{vendor_id, name, methods: [{id, name, price, currency}]}]`` (what is offered);
   a method that is not offered (switched off, deleted, another store's, the address or the
   parcel outside its rule since the cart was shown): ``Conflict``
   ``shipping_method_unavailable`` (409) with ``vendor_id``, ``method_id``, ``reason`` and the
   ``methods`` offered instead. Nothing is reserved on either,
5. taxes every line and the shipping fee at the rates of the shipping address's country
   (``commerce.tax``: per line, half-up to cents; prices with or without tax as the store
   enters them),
6. creates the :class:`~commerce.orders.models.Checkout`, one :class:`~commerce.orders.models.Order` per
   vendor with snapshots of the addresses and the lines (name, SKU, unit price at purchase,
   quantity, vendor name, tax line), the shipping method's snapshot and fee (each order
   announced with ``order.placed`` to the buyer and the store's ``vendor:`` desk), and a
   :class:`~commerce.orders.models.StockReservation` per line, taking the
   units from ``Product.stock`` (``reason="reservation"``) — which refreshes every cart holding
   those products, so the buyer's ``cart:`` topic shows ``reservation`` with ``expires_at`` and
   other buyers see the lower ``available_stock``,
7. after commit, schedules :func:`commerce.orders.tasks.expire_checkout` at ``expires_at``
   (``CHECKOUT_RESERVATION_MINUTES``, default 15).

Expiry (:func:`checkout_expire`) runs from that ETA task and from a beat sweep every 30 s
(:func:`checkouts_expire_due`); both are idempotent under the checkout's row lock: unpaid orders
are cancelled with reason ``reservation_expired``, their stock released, the buyer notified.
Paying in time (``commerce.payments.services``) consumes the reservations: the units are sold.

The checkout's status moves only along :data:`commerce.orders.models.CHECKOUT_MACHINE`
(``active`` to ``completed``, ``expired`` or ``cancelled``, once); this module is its one owner.
Cancelling a checkout that already ended is ``core.fsm.InvalidTransition`` (409).

Lock order: checkout -> orders -> products (pk) -> carts (pk) -> wallets (pk).
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from decimal import Decimal
from dataclasses import dataclass
from typing import Any, Mapping

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, NotFound
from core.models import Address
from core.utils import parse_uuid

from commerce.cart.models import Cart, CartItem
from commerce.catalog.models import Product
from commerce.catalog.services import products_adjust_stock
from commerce.orders.models import (
    CHECKOUT_MACHINE,
    Checkout,
    CheckoutStatus,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    ReservationStatus,
    StockReservation,
)
from commerce.orders.services import (
    address_snapshot,
    order_apply_transition,
    order_number,
    order_placed,
    release_reservations,
)
from commerce.shipping.selectors import Basket, Destination, Item, Quote, method_snapshot, quotes_for_baskets
from commerce.tax.calculation import Taxed, tax_line
from commerce.tax.selectors import prices_include_tax, rates_for_country


logger = logging.getLogger(__name__)


def reservation_minutes() -> int:
    return int(getattr(settings, "CHECKOUT_RESERVATION_MINUTES", 15))


def _address(*, user, address_id: Any, default_flag: str, field: str) -> Address:
    if address_id in (None, ""):
        address = Address.objects.filter(user=user, **{default_flag: True}).first()
        if address is None:
            raise ApplicationError(f"{field} is required (you have no default address).", code="address_required",
                                   fields={field: ["This field is required."]})
        return address
    aid = parse_uuid(address_id)
    address = Address.objects.filter(pk=aid, user=user).first() if aid else None
    if address is None:
        raise NotFound("Address not found.", code="address_not_found", extra={"field": field})
    return address


def _cancel_checkout_locked(checkout: Checkout, *, status: str, reason: str, actor=None) -> int:
    """Cancel every unpaid order of a locked checkout (stock released) and move it to ``status``
    (``expired`` or ``cancelled``). Raises ``core.fsm.InvalidTransition`` when the checkout
    already ended."""
    CHECKOUT_MACHINE.check(checkout.status, status)
    orders = list(
        Order.objects.select_for_update(of=("self",)).select_related("vendor")
        .filter(checkout=checkout, status=OrderStatus.PENDING_PAYMENT).order_by("pk")
    )
    if orders:
        release_reservations(orders=orders, actor=actor, reason=reason)
        for order in orders:
            order_apply_transition(order=order, to_status=OrderStatus.CANCELLED, actor=actor, reason=reason)
    checkout.status = status
    checkout.save(update_fields=["status", "updated_at"])
    return len(orders)


def checkout_create(*, buyer, shipping_address_id: Any = None, billing_address_id: Any = None,
                    shipping_methods: Mapping[Any, Any] | None = None) -> Checkout:
    """Reserve the buyer's cart and create its orders (see the module docstring).
    ``shipping_methods`` maps each store of the cart (vendor id) to the shipping method the
    buyer chose (ids as ``UUID`` or strings).

    Returns the Checkout (``status="active"``). Raises ``Conflict`` ``cart_empty``,
    ``insufficient_stock`` (every short line listed), ``currency_mismatch``,
    ``shipping_method_unavailable``; ``ApplicationError`` ``product_unavailable`` (a line's
    product was withdrawn), ``address_required``, ``shipping_method_required``; ``NotFound``
    ``address_not_found``. Nothing is reserved on a refusal.
    """
    shipping, billing = _addresses(buyer=buyer, shipping_address_id=shipping_address_id,
                                   billing_address_id=billing_address_id)
    choices = {str(k): str(v) for k, v in (shipping_methods or {}).items()}
    with transaction.atomic():
        cart = _lock_for_checkout(buyer=buyer)
        items = list(
            CartItem.objects.filter(cart=cart).select_related("product__vendor").order_by("product__vendor__name", "created_at")
        )
        currency = _check_lines(items)
        quotes = _shipping_for(items, currency=currency, destination=Destination.of(shipping), choices=choices)
        priced = _price(items, quotes, country=shipping.country)
        expires_at = timezone.now() + timedelta(minutes=reservation_minutes())
        checkout = Checkout.objects.create(buyer=buyer, currency=currency, expires_at=expires_at,
                                           total=sum((p.total for p in priced), Decimal("0.00")))
        _create_orders(checkout, priced, shipping=address_snapshot(shipping), billing=address_snapshot(billing))
        products_adjust_stock(changes={i.product_id: -i.quantity for i in items}, reason="reservation", actor=buyer)
        checkout_id = checkout.id
        transaction.on_commit(lambda: _schedule_expiry(checkout_id, expires_at), robust=True)
        return checkout


def _addresses(*, buyer, shipping_address_id: Any, billing_address_id: Any) -> tuple[Address, Address]:
    """Step 1 of :func:`checkout_create`: the shipping address (given, else the default) and the
    billing one (given, else the default billing, else the shipping address)."""
    shipping = _address(user=buyer, address_id=shipping_address_id, default_flag="is_default_shipping",
                        field="shipping_address_id")
    billing = (_address(user=buyer, address_id=billing_address_id, default_flag="is_default_billing",
                        field="billing_address_id") if billing_address_id else None)
    if billing is None:
        billing = Address.objects.filter(user=buyer, is_default_billing=True).first() or shipping
    return shipping, billing


def _lock_for_checkout(*, buyer) -> Cart:
    """Step 2 (in the transaction), in the project's lock order: the buyer's active checkouts,
    every product involved (the cart's and the previous reservations'), the cart; then the
    previous checkouts are replaced (their reservations go back). Returns the locked cart.
    Raises ``Conflict`` ``cart_empty``."""
    previous = list(
        Checkout.objects.select_for_update().filter(buyer=buyer, status=CheckoutStatus.ACTIVE).order_by("pk")
    )
    prev_products = set(
        StockReservation.objects.filter(order__checkout__in=previous, status=ReservationStatus.ACTIVE)
        .values_list("product_id", flat=True)
    )
    cart_products = set(CartItem.objects.filter(cart__user=buyer).values_list("product_id", flat=True))
    if not cart_products:
        raise Conflict("Your cart is empty.", code="cart_empty")
    ids = sorted(prev_products | cart_products)
    list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    cart = Cart.objects.select_for_update().get(user=buyer)
    for old in previous:
        _cancel_checkout_locked(old, status=CheckoutStatus.CANCELLED, reason="replaced_by_new_checkout", actor=buyer)
    return cart


def _check_lines(items: list[CartItem]) -> str:
    """Step 3: every line purchasable, in stock (all short lines named in one ``Conflict``
    ``insufficient_stock``), one currency. Returns the currency."""
    if not items:
        raise Conflict("Your cart is empty.", code="cart_empty")
    short = []
    for item in items:
        p = item.product
        if not p.is_purchasable:
            raise ApplicationError(f"{p.name} is no longer available; remove it from your cart.",
                                   code="product_unavailable", extra={"product_id": str(p.pk)})
        if item.quantity > p.stock:
            short.append({"product_id": str(p.pk), "sku": p.sku, "name": p.name,
                          "requested": item.quantity, "available": max(p.stock, 0)})
    if short:
        raise Conflict(
            "Not enough stock for: " + ", ".join(f"{s['name']} ({s['available']} left)" for s in short) + ".",
            code="insufficient_stock", extra={"lines": short},
        )
    currencies = {item.product.currency for item in items}
    if len(currencies) != 1:
        raise Conflict("Your cart mixes currencies.", code="currency_mismatch")
    return currencies.pop()


def _by_vendor(items: list[CartItem]) -> OrderedDict[uuid.UUID, list[CartItem]]:
    by_vendor: OrderedDict[uuid.UUID, list[CartItem]] = OrderedDict()
    for item in items:
        by_vendor.setdefault(item.product.vendor_id, []).append(item)
    return by_vendor


def offered(quotes: list[Quote]) -> list[dict[str, Any]]:
    """The methods on offer among ``quotes``, as refusals list them: ``[{"id", "name",
    "price", "currency"}]``."""
    return [{"id": str(q.method.id), "name": q.method.name, "price": f"{q.price:.2f}", "currency": q.method.currency}
            for q in quotes if q.available]


def _shipping_for(items: list[CartItem], *, currency: str, destination: Destination,
                  choices: dict[str, str]) -> dict[uuid.UUID, Quote]:
    """Step 4: the chosen method's quote of every store (module docstring for the refusals)."""
    by_vendor = _by_vendor(items)
    baskets = [Basket(vendor_id=vid, currency=currency,
                      value=sum((i.product.price * i.quantity for i in store_items), Decimal("0.00")),
                      items=tuple(Item.of(i.product, i.quantity) for i in store_items))
               for vid, store_items in by_vendor.items()]
    quotes = quotes_for_baskets(baskets=baskets, destination=destination)
    missing = [vid for vid in by_vendor if str(vid) not in choices]
    if missing:
        raise ApplicationError(
            "Choose a shipping method for every store: " + ", ".join(by_vendor[v][0].product.vendor.name for v in missing)
            + ".", code="shipping_method_required",
            extra={"vendors": [{"vendor_id": str(v), "name": by_vendor[v][0].product.vendor.name,
                                "methods": offered(quotes[v])} for v in missing]},
        )
    chosen: dict[uuid.UUID, Quote] = {}
    for vid, store_items in by_vendor.items():
        method_id = choices[str(vid)]
        q = next((q for q in quotes[vid] if str(q.method.id) == method_id), None)
        if q is None or not q.available:
            reason = q.reason if q is not None else "unknown"
            raise Conflict(
                f"The shipping method you chose for {store_items[0].product.vendor.name} is not offered for this "
                f"order any more ({reason.replace('_', ' ')}); choose another.", code="shipping_method_unavailable",
                extra={"vendor_id": str(vid), "method_id": method_id, "reason": reason, "methods": offered(quotes[vid])},
            )
        chosen[vid] = q
    return chosen


@dataclass(frozen=True)
class PricedOrder:
    """One store's order before it is saved: its cart lines with their tax lines, the chosen
    shipping method's quote and the fee's tax line, and how the store enters prices."""

    vendor_id: uuid.UUID
    lines: list[tuple[CartItem, Taxed]]
    shipping: Quote
    fee: Taxed
    prices_include_tax: bool
    tax_country: str

    @property
    def subtotal(self) -> Decimal:
        return sum((t.gross for _, t in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.fee.gross

    @property
    def tax_total(self) -> Decimal:
        return sum((t.tax for _, t in self.lines), self.fee.tax)


def _price(items: list[CartItem], quotes: dict[uuid.UUID, Quote], *, country: str) -> list[PricedOrder]:
    """Step 5: every line and every store's shipping fee taxed at ``country``'s rates of today
    (``commerce.tax``), with or without tax in the price as each store enters its prices."""
    by_vendor = _by_vendor(items)
    rates = rates_for_country(country=country, on=timezone.now().date())
    includes = prices_include_tax(vendor_ids=list(by_vendor))
    return [
        PricedOrder(
            vendor_id=vid,
            lines=[(i, tax_line(i.product.price * i.quantity, rates[i.product.tax_class], includes_tax=includes[vid]))
                   for i in store_items],
            shipping=quotes[vid],
            fee=tax_line(quotes[vid].price, rates[quotes[vid].method.tax_class], includes_tax=includes[vid]),
            prices_include_tax=includes[vid], tax_country=country,
        )
        for vid, store_items in by_vendor.items()
    ]


def _create_orders(checkout: Checkout, priced: list[PricedOrder], *, shipping: dict, billing: dict) -> None:
    """Step 6: one ``pending_payment`` order per store (with its audit row), its lines
    (snapshots with their tax lines), its shipping method's snapshot and fee, and a stock
    reservation per line until the checkout expires (bulk inserts)."""
    lines, reservations, audits, placed = [], [], [], []
    for po in priced:
        q, fee = po.shipping, po.fee
        oid = uuid.uuid4()
        order = Order.objects.create(
            id=oid, number=order_number(oid), checkout=checkout, buyer=checkout.buyer, vendor_id=po.vendor_id,
            currency=checkout.currency, subtotal=po.subtotal, shipping_total=fee.gross, total=po.total,
            tax_total=po.tax_total, prices_include_tax=po.prices_include_tax, tax_country=po.tax_country,
            shipping_method=q.method, shipping_method_data=method_snapshot(q), shipping_tax_class=q.method.tax_class,
            shipping_tax_rate=fee.rate, shipping_net=fee.net, shipping_tax=fee.tax,
            shipping_address=shipping, billing_address=billing, reservation_expires_at=checkout.expires_at,
        )
        audits.append(OrderStatusChange(order=order, from_status="", to_status=OrderStatus.PENDING_PAYMENT,
                                        actor=checkout.buyer, reason="checkout"))
        placed.append(order)
        for i, t in po.lines:
            p = i.product
            lines.append(OrderLine(order=order, product=p, product_name=p.name, sku=p.sku, vendor_name=p.vendor.name,
                                   unit_price=p.price, quantity=i.quantity, line_total=p.price * i.quantity,
                                   tax_class=p.tax_class, tax_rate=t.rate, net_total=t.net, tax_amount=t.tax,
                                   gross_total=t.gross))
            reservations.append(StockReservation(order=order, product=p, quantity=i.quantity,
                                                 expires_at=checkout.expires_at))
    OrderLine.objects.bulk_create(lines)
    StockReservation.objects.bulk_create(reservations)
    OrderStatusChange.objects.bulk_create(audits)
    for order in placed:
        order_placed(order=order)


def _schedule_expiry(checkout_id: uuid.UUID, eta: datetime) -> None:
    from commerce.orders.tasks import expire_checkout  # cycle-breaker: the task runs checkout_expire of this module

    try:
        expire_checkout.apply_async(args=[str(checkout_id)], eta=eta)
    except Exception:  # noqa: BLE001 - the beat sweep expires it anyway
        logger.warning("could not schedule expiry of checkout %s; the sweep will", checkout_id, exc_info=True)


def checkout_expire(*, checkout_id: Any, now: datetime | None = None) -> bool:
    """Expire checkout ``checkout_id`` if it is still active and past ``expires_at``: unpaid
    orders cancelled (``reservation_expired``), stock released, buyer notified (through the order
    moves). Idempotent: False when there was nothing to do (already expired, paid, cancelled or
    not yet due)."""
    cid = parse_uuid(checkout_id)
    if cid is None:
        return False
    now = now or timezone.now()
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(pk=cid).first()
        if checkout is None or checkout.status != CheckoutStatus.ACTIVE or checkout.expires_at > now:
            return False
        _cancel_checkout_locked(checkout, status=CheckoutStatus.EXPIRED, reason="reservation_expired")
        return True


def checkout_cancel(*, buyer, checkout_id: Any) -> Checkout:
    """The buyer gives up an active checkout: unpaid orders cancelled, stock released. Raises
    ``NotFound`` ``checkout_not_found`` and ``core.fsm.InvalidTransition`` (409
    ``invalid_transition``) when the checkout already ended (completed, expired, cancelled)."""
    cid = parse_uuid(checkout_id)
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(pk=cid, buyer=buyer).first() if cid else None
        if checkout is None:
            raise NotFound("Checkout not found.", code="checkout_not_found")
        _cancel_checkout_locked(checkout, status=CheckoutStatus.CANCELLED, reason="cancelled_by_buyer", actor=buyer)
        return checkout


def checkout_complete_if_paid(*, checkout_id: uuid.UUID) -> bool:
    """Complete checkout ``checkout_id`` once none of its orders waits for payment (called by
    ``commerce.payments`` with the checkout and the paid order locked). Returns whether it moved
    (False while an order is unpaid, or when the checkout already ended)."""
    if Order.objects.filter(checkout_id=checkout_id, status=OrderStatus.PENDING_PAYMENT).exists():
        return False
    return Checkout.objects.filter(
        pk=checkout_id, status__in=CHECKOUT_MACHINE.sources(CheckoutStatus.COMPLETED),
    ).update(status=CheckoutStatus.COMPLETED, updated_at=timezone.now()) > 0


def checkouts_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire every active checkout past its ``expires_at`` (the beat sweep). Returns how many
    this call expired."""
    now = now or timezone.now()
    ids = list(
        Checkout.objects.filter(status=CheckoutStatus.ACTIVE, expires_at__lte=now)
        .order_by("expires_at").values_list("pk", flat=True)[:limit]
    )
    return sum(1 for cid in ids if checkout_expire(checkout_id=cid, now=now))
