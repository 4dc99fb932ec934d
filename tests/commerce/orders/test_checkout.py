"""Checkout: snapshots, one order per vendor, stock reservation shown on the cart, refusals that
reserve nothing, expiry (ETA task and sweep, idempotent), replacement of a previous checkout."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce.cart.selectors import cart_data, cart_for_user
from commerce.catalog.models import Product, ProductStockChange
from commerce.orders import checkout as checkouts
from commerce.orders.models import Checkout, CheckoutStatus, Order, ReservationStatus, StockReservation
from commerce.orders.tasks import expire_checkout, expire_reservations_sweep
from core.exceptions import ApplicationError, Conflict, NotFound
from notifications.models import Notification
from realtime.models import OutboxEvent
from tests.factories.commerce import CategoryFactory, ProductFactory, VendorFactory
from tests.factories.core import AddressFactory
from tests.factories.orders import add_cart_line_unchecked, buyer_with_cart, checkout_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_vendors():
    cat = CategoryFactory()
    v1, v2 = VendorFactory(name="Alpha Parts"), VendorFactory(name="Beta Brakes")
    return (ProductFactory(vendor=v1, category=cat, price="12.50", stock=5, name="Oil filter", sku="OF-1"),
            ProductFactory(vendor=v2, category=cat, price="40.00", stock=3, name="Brake pad", sku="BP-1"))


def test_checkout_creates_one_order_per_vendor_with_snapshots_and_reserves_stock(two_vendors):
    p1, p2 = two_vendors
    buyer = buyer_with_cart({p1: 2, p2: 1})
    checkout = checkout_for(buyer=buyer)
    assert checkout.status == CheckoutStatus.ACTIVE and checkout.total == Decimal("65.00")
    assert timedelta(minutes=14, seconds=50) < checkout.expires_at - timezone.now() <= timedelta(minutes=15)
    orders = {o.vendor.name: o for o in Order.objects.filter(checkout=checkout)}
    assert set(orders) == {"Alpha Parts", "Beta Brakes"}
    alpha = orders["Alpha Parts"]
    assert (alpha.status, alpha.total, alpha.reservation_expires_at) == ("pending_payment", Decimal("25.00"), checkout.expires_at)
    line = alpha.lines.get()
    assert (line.product_name, line.sku, line.unit_price, line.quantity, line.vendor_name) == (
        "Oil filter", "OF-1", Decimal("12.50"), 2, "Alpha Parts")
    assert alpha.shipping_address["line1"] == "Main Street 1"
    # snapshots stay when the catalogue changes
    Product.objects.filter(pk=p1.pk).update(name="Renamed", price="99.00")
    line.refresh_from_db()
    assert (line.product_name, line.unit_price) == ("Oil filter", Decimal("12.50"))
    p1.refresh_from_db(), p2.refresh_from_db()
    assert (p1.stock, p2.stock) == (3, 2)
    assert ProductStockChange.objects.filter(product=p1, reason="reservation", old_stock=5, new_stock=3).exists()
    assert StockReservation.objects.filter(order__checkout=checkout, status="active").count() == 2
    assert alpha.status_changes.get().to_status == "pending_payment"


def test_cart_shows_the_reservation_and_counts_own_reserved_units(two_vendors):
    p1, _ = two_vendors
    buyer = buyer_with_cart({p1: 5})
    checkout = checkout_for(buyer=buyer)
    data = cart_data(cart=cart_for_user(user=buyer))
    assert data["reservation"]["checkout_id"] == str(checkout.id)
    shown = datetime.fromisoformat(data["reservation"]["expires_at"].replace("Z", "+00:00"))
    assert abs(shown - checkout.expires_at) < timedelta(milliseconds=1)  # ISO 8601 with milliseconds
    line = data["lines"][0]
    assert (line["available_stock"], line["in_stock"]) == (5, True)  # 0 on hand + 5 reserved by this buyer
    event = OutboxEvent.objects.filter(topic=f"cart:{buyer.pk}", type="cart.updated").last()
    assert event.data["reservation"]["checkout_id"] == str(checkout.id)


def test_other_carts_holding_the_product_see_lower_available_stock(two_vendors):
    p1, _ = two_vendors
    other = buyer_with_cart({p1: 1})
    buyer = buyer_with_cart({p1: 4})
    checkout_for(buyer=buyer)
    event = OutboxEvent.objects.filter(topic=f"cart:{other.pk}", type="cart.updated").last()
    assert event.data["lines"][0]["available_stock"] == 1 and event.data["reservation"] is None


def test_insufficient_stock_names_every_short_line_and_reserves_nothing(two_vendors):
    p1, p2 = two_vendors
    buyer = buyer_with_cart({p1: 1, p2: 1})
    add_cart_line_unchecked(buyer, p1, 6)
    add_cart_line_unchecked(buyer, p2, 4)
    with pytest.raises(Conflict) as exc:
        checkout_for(buyer=buyer)
    assert exc.value.code == "insufficient_stock"
    assert {(l["sku"], l["requested"], l["available"]) for l in exc.value.extra["lines"]} == {("OF-1", 6, 5), ("BP-1", 4, 3)}
    assert not Checkout.objects.exists() and not Order.objects.exists()
    assert Product.objects.get(pk=p1.pk).stock == 5


def test_empty_cart_and_foreign_address_are_refused(two_vendors):
    p1, _ = two_vendors
    buyer = buyer_with_cart({})
    with pytest.raises(Conflict) as exc:
        checkout_for(buyer=buyer)
    assert exc.value.code == "cart_empty"
    buyer = buyer_with_cart({p1: 1})
    foreign = AddressFactory()
    with pytest.raises(NotFound) as exc:
        checkout_for(buyer=buyer, shipping_address_id=foreign.pk)
    assert exc.value.code == "address_not_found" and not Order.objects.exists()


def test_no_address_at_all_is_a_clear_400(two_vendors):
    p1, _ = two_vendors
    buyer = buyer_with_cart({p1: 1})
    buyer.addresses.all().delete()
    with pytest.raises(ApplicationError) as exc:
        checkout_for(buyer=buyer)
    assert exc.value.code == "address_required" and exc.value.status == 400


def test_a_new_checkout_replaces_the_previous_one_and_returns_its_stock(two_vendors):
    p1, _ = two_vendors
    buyer = buyer_with_cart({p1: 3})
    first = checkout_for(buyer=buyer)
    second = checkout_for(buyer=buyer)
    first.refresh_from_db()
    assert first.status == CheckoutStatus.CANCELLED and second.status == CheckoutStatus.ACTIVE
    assert set(Order.objects.filter(checkout=first).values_list("status", "cancel_reason")) == {("cancelled", "replaced_by_new_checkout")}
    assert Product.objects.get(pk=p1.pk).stock == 2  # 5 - 3, not 5 - 6


def test_expiry_releases_stock_cancels_and_notifies_once(two_vendors):
    p1, p2 = two_vendors
    buyer = buyer_with_cart({p1: 2, p2: 1})
    checkout = checkout_for(buyer=buyer)
    assert checkouts.checkout_expire(checkout_id=checkout.id) is False  # not due yet
    later = checkout.expires_at + timedelta(seconds=1)
    assert checkouts.checkout_expire(checkout_id=checkout.id, now=later) is True
    assert checkouts.checkout_expire(checkout_id=checkout.id, now=later) is False  # second run: nothing
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED
    assert set(Order.objects.filter(checkout=checkout).values_list("status", "cancel_reason")) == {("cancelled", "reservation_expired")}
    assert (Product.objects.get(pk=p1.pk).stock, Product.objects.get(pk=p2.pk).stock) == (5, 3)
    assert set(StockReservation.objects.values_list("status", flat=True)) == {ReservationStatus.RELEASED}
    assert Notification.objects.filter(recipient=buyer, kind="order.status_changed", data__status="cancelled").count() == 2
    assert cart_data(cart=cart_for_user(user=buyer))["reservation"] is None


def test_expiry_task_and_sweep_are_idempotent(two_vendors):
    p1, _ = two_vendors
    buyer = buyer_with_cart({p1: 1})
    checkout = checkout_for(buyer=buyer)
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_checkout.apply(args=[str(checkout.id)]).get() is True
    assert expire_checkout.apply(args=[str(checkout.id)]).get() is False
    assert expire_reservations_sweep.apply().get() == 0
    assert Product.objects.get(pk=p1.pk).stock == 5
    assert ProductStockChange.objects.filter(product=p1, reason="reservation_expired").count() == 1


def test_sweep_expires_what_the_eta_task_missed(two_vendors):
    p1, p2 = two_vendors
    a = checkout_for(buyer=buyer_with_cart({p1: 1}))
    b = checkout_for(buyer=buyer_with_cart({p2: 1}))
    Checkout.objects.filter(pk=a.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert expire_reservations_sweep.apply().get() == 1
    assert Checkout.objects.get(pk=a.pk).status == "expired" and Checkout.objects.get(pk=b.pk).status == "active"


def test_buyer_cancels_a_checkout(two_vendors):
    p1, _ = two_vendors
    buyer = buyer_with_cart({p1: 2})
    checkout = checkout_for(buyer=buyer)
    checkouts.checkout_cancel(buyer=buyer, checkout_id=checkout.id)
    assert Product.objects.get(pk=p1.pk).stock == 5
    with pytest.raises(Conflict) as exc:
        checkouts.checkout_cancel(buyer=buyer, checkout_id=checkout.id)
    assert exc.value.as_dict() == {"code": "invalid_transition", "detail": "A checkout cannot go from cancelled to cancelled.",
                                   "from": "cancelled", "to": "cancelled", "allowed": []}
    with pytest.raises(NotFound):
        checkouts.checkout_cancel(buyer=buyer_with_cart({}), checkout_id=checkout.id)
