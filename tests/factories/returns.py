"""Returns for tests, all through the real services: a delivered order with several lines (checked
out, paid by wallet or card, dispatched, picked up and delivered with the buyer's PIN), and
returns moved along their map by the buyer's and the store's own calls.

``delivered_order_of([("10.00", 3), ("4.99", 2)], shipping="4.90")`` is an order of two lines
(3 × 10.00 and 2 × 4.99) with a 4.90 shipping fee (set on the order before it is paid, the way
the shipping room's checkout fills ``shipping_total``), delivered inside its return window.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F

from commerce.orders.models import Order
from commerce.payments import services as payments
from commerce.returns import services as returns
from commerce.returns.models import ReturnRequest
from commerce.stores.models import PickupPoint
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.delivery import PICK, deliver_paid_order
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet


def delivered_order_of(lines: list[tuple[str, int]], *, method: str = "wallet", vendor=None, buyer=None,
                       shipping: str = "0.00") -> Order:
    """A delivered order of ``lines`` (``[(unit price, quantity)]``, one product each) paid by
    ``method`` (``wallet`` from a funded wallet, or ``card`` with ``tok_visa``)."""
    vendor = vendor or VendorFactory()
    PickupPoint.objects.get_or_create(vendor=vendor, defaults={"latitude": PICK[0], "longitude": PICK[1]})
    products = {ProductFactory(vendor=vendor, stock=qty + 5, price=price): qty for price, qty in lines}
    buyer = buyer_with_cart(products, buyer=buyer)
    order = checkout_for(buyer=buyer).orders.get()
    if Decimal(shipping):
        Order.objects.filter(pk=order.pk).update(shipping_total=F("shipping_total") + Decimal(shipping),
                                                 shipping_net=F("shipping_net") + Decimal(shipping),
                                                 total=F("total") + Decimal(shipping))
        order.refresh_from_db()
    if method == "wallet":
        funded_wallet(buyer, order.total)
        payments.payment_create(user=buyer, order_id=order.id, method="wallet")
    else:
        payments.payment_create(user=buyer, order_id=order.id, method="card", card_token="tok_visa")
    return deliver_paid_order(Order.objects.select_related("vendor").get(pk=order.pk))


def all_lines(order: Order) -> list[dict]:
    """Every line of ``order`` in full: ``[{"order_line_id", "quantity"}]``."""
    return [{"order_line_id": line.pk, "quantity": line.quantity} for line in order.lines.order_by("id")]


def requested(order: Order, *, lines: list[dict] | None = None, reason: str = "changed_mind", **kw) -> ReturnRequest:
    """The buyer of ``order`` asks to return ``lines`` (all of them by default)."""
    return returns.return_request(user=order.buyer, order_id=order.pk, lines=lines or all_lines(order), reason=reason,
                                  description=kw.pop("description", "Not what I need."), **kw)


def approved(order: Order, **kw) -> ReturnRequest:
    rma = requested(order, **kw)
    return returns.return_approve(user=order.vendor.owner, return_id=rma.pk, note="Send it to the shop.")


def in_transit(order: Order, **kw) -> ReturnRequest:
    """An approved return the buyer sent with a carrier."""
    rma = approved(order, **kw)
    return returns.return_ship(user=order.buyer, return_id=rma.pk, transport="carrier", carrier="DHL",
                               tracking_number="00340434161234567890")


def received(order: Order, **kw) -> ReturnRequest:
    rma = in_transit(order, **kw)
    return returns.return_receive(user=order.vendor.owner, return_id=rma.pk)


def inspected(order: Order, *, grade: str = "as_new", grades: dict | None = None, **kw) -> ReturnRequest:
    """A received return whose lines the store graded ``grade`` (or ``grades`` {order line id:
    grade})."""
    rma = received(order, **kw)
    lines = [{"id": line.pk, "grade": (grades or {}).get(line.order_line_id, grade)}
             for line in rma.lines.order_by("id")]
    return returns.return_inspect(user=order.vendor.owner, return_id=rma.pk, grades=lines)
