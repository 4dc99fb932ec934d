"""Existing data survives the migrations: a database built at the migrations of commit 6f20f28
(before the buyer-protection, dispute, reconciliation and delivery-attempt migrations, and before
commerce became a package of rooms), filled with one of everything, migrated to the latest
migrations, keeps every row and every relation, and the new columns get their defaults.

The rooms of ``commerce`` keep the one app label ``commerce``, so the split itself changes no
table; this test guards the migrations written since (commerce 0003, delivery 0002) and any
later one.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from auctions.models import Auction, Bid
from chat.models import Conversation, Message
from commerce.cart.models import CartItem
from commerce.catalog.models import Product
from commerce.orders.models import Order, OrderLine, StockReservation
from commerce.payments.models import Payment, PaymentWebhookEvent, Refund, WalletDeposit
from commerce.stores.models import Vendor, VendorStaff
from commerce.wallet.models import Escrow, LedgerEntry, Wallet, WalletHold
from delivery.models import Delivery
from notifications.models import Notification

#: the leaf migration of each app at commit 6f20f28
OLD_LEAVES = [
    ("core", "0002_idempotencykey"),
    ("realtime", "0001_initial"),
    ("commerce", "0002_checkout_orders_payments_wallet"),
    ("auctions", "0001_initial"),
    ("delivery", "0001_initial"),
    ("chat", "0001_initial"),
    ("notifications", "0001_initial"),
]


def _fill(apps) -> dict:
    """One of everything, written with the historical models of the old state. Returns the ids."""
    now = timezone.now()
    m = lambda label: apps.get_model(*label.split("."))  # noqa: E731
    User = m("core.User")
    buyer = User.objects.create(email="buyer@old.example", display_name="Old Buyer", roles=["buyer"])
    owner = User.objects.create(email="owner@old.example", display_name="Old Owner", roles=["buyer", "vendor"])
    courier = User.objects.create(email="courier@old.example", roles=["courier"])
    vendor = m("commerce.Vendor").objects.create(name="Old Store", slug="old-store", status="active", owner=owner)
    m("commerce.VendorStaff").objects.create(vendor=vendor, user=owner, role="owner")
    category = m("commerce.Category").objects.create(name="Brakes", slug="brakes")
    brand = m("commerce.Brand").objects.create(name="ATE", slug="ate")
    product = m("commerce.Product").objects.create(
        vendor=vendor, category=category, brand=brand, name="Brake pad", slug="brake-pad", sku="BP-1",
        price=Decimal("20.00"), currency="EUR", stock=7, attributes={"position": "front"})
    cart = m("commerce.Cart").objects.create(user=buyer, version=3)
    m("commerce.CartItem").objects.create(cart=cart, product=product, quantity=2)
    checkout = m("commerce.Checkout").objects.create(buyer=buyer, status="completed", currency="EUR",
                                                     total=Decimal("40.00"), expires_at=now + timedelta(minutes=15))
    order = m("commerce.Order").objects.create(
        number="MK-OLD0000001", checkout=checkout, buyer=buyer, vendor=vendor, status="delivered", currency="EUR",
        subtotal=Decimal("40.00"), total=Decimal("40.00"), shipping_address={"city": "Berlin"},
        billing_address={"city": "Berlin"}, paid_at=now)
    m("commerce.OrderLine").objects.create(order=order, product=product, product_name="Brake pad", sku="BP-1",
                                           vendor_name="Old Store", unit_price=Decimal("20.00"), quantity=2,
                                           line_total=Decimal("40.00"))
    m("commerce.OrderStatusChange").objects.create(order=order, from_status="", to_status="pending_payment")
    m("commerce.StockReservation").objects.create(order=order, product=product, quantity=2, status="consumed",
                                                  expires_at=now + timedelta(minutes=15))
    payment = m("commerce.Payment").objects.create(order=order, method="card", gateway="test", intent_id="pi_old",
                                                   amount=Decimal("40.00"), currency="EUR", status="succeeded",
                                                   refunded_amount=Decimal("5.00"), succeeded_at=now)
    m("commerce.Refund").objects.create(payment=payment, amount=Decimal("5.00"), reason="scratch", actor=owner)
    escrow = m("commerce.Escrow").objects.create(order=order, amount=Decimal("35.00"), currency="EUR", status="held")
    m("commerce.PaymentWebhookEvent").objects.create(gateway="test", event_id="evt_old", type="payment_intent.succeeded",
                                                     payload={"id": "evt_old"})
    wallet = m("commerce.Wallet").objects.create(user=buyer, currency="EUR", balance=Decimal("100.00"),
                                                 held_balance=Decimal("10.00"))
    m("commerce.LedgerEntry").objects.create(wallet=wallet, kind="deposit", amount=Decimal("100.00"),
                                             balance_after=Decimal("100.00"), held_after=Decimal("0.00"),
                                             reference="deposit:old")
    m("commerce.WalletHold").objects.create(wallet=wallet, reference="auction:old", amount=Decimal("10.00"))
    deposit = m("commerce.WalletDeposit").objects.create(user=buyer, amount=Decimal("100.00"), currency="EUR",
                                                         gateway="test", intent_id="pi_dep", status="succeeded")
    delivery = m("delivery.Delivery").objects.create(order=order, courier=courier, status="delivered", pickup_lat=52.5,
                                                     pickup_lon=13.4, dropoff_lat=52.51, dropoff_lon=13.41, pin="1234")
    auction = m("auctions.Auction").objects.create(
        vendor=vendor, created_by=owner, title="Old gearbox", start_price=Decimal("10.00"), starts_at=now,
        ends_at=now + timedelta(hours=1), scheduled_end=now + timedelta(hours=1), hard_end=now + timedelta(hours=2))
    m("auctions.Bid").objects.create(auction=auction, bidder=buyer, max_amount=Decimal("15.00"),
                                     price_after=Decimal("10.00"), leading_after=True, version=1, created_at=now)
    conversation = m("chat.Conversation").objects.create(buyer=buyer, vendor=vendor, context_type="product",
                                                         context_id=product.pk)
    m("chat.Message").objects.create(conversation=conversation, seq=1, sender=buyer, sender_side="buyer",
                                     text="Still in stock?", original_text="Still in stock?", created_at=now)
    m("notifications.Notification").objects.create(recipient=buyer, kind="order.status_changed",
                                                   title="Order MK-OLD0000001: delivered")
    return {"buyer": buyer.pk, "owner": owner.pk, "courier": courier.pk, "vendor": vendor.pk, "product": product.pk,
            "order": order.pk, "payment": payment.pk, "escrow": escrow.pk, "wallet": wallet.pk, "deposit": deposit.pk,
            "delivery": delivery.pk, "auction": auction.pk, "conversation": conversation.pk}


@pytest.mark.django_db(transaction=True)
def test_rows_written_at_the_6f20f28_migrations_survive_migrating_to_the_latest():
    executor = MigrationExecutor(connection)
    # every app's latest: migrating commerce back unapplies the apps that depend on it (support),
    # which must come back too
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(OLD_LEAVES)
        executor = MigrationExecutor(connection)
        ids = _fill(executor.loader.project_state(OLD_LEAVES).apps)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    vendor = Vendor.objects.get(pk=ids["vendor"])
    assert (vendor.name, vendor.status, vendor.owner_id) == ("Old Store", "active", ids["owner"])
    assert VendorStaff.objects.get(vendor=vendor).user_id == ids["owner"]
    product = Product.objects.get(pk=ids["product"])
    assert (product.vendor_id, product.sku, product.price, product.stock, product.attributes) == (
        ids["vendor"], "BP-1", Decimal("20.00"), 7, {"position": "front"})
    assert CartItem.objects.get(cart__user_id=ids["buyer"]).product_id == ids["product"]

    order = Order.objects.get(pk=ids["order"])
    assert (order.buyer_id, order.vendor_id, order.status, order.total, order.delivered_at) == (
        ids["buyer"], ids["vendor"], "delivered", Decimal("40.00"), None)  # delivered_at: a column of commerce 0003
    assert OrderLine.objects.get(order=order).product_id == ids["product"]
    assert StockReservation.objects.get(order=order).status == "consumed"
    payment = Payment.objects.get(pk=ids["payment"])
    assert (payment.order_id, payment.status, payment.refunded_amount, payment.reconcile_attempts) == (
        ids["order"], "succeeded", Decimal("5.00"), 0)
    assert Refund.objects.get(payment=payment).amount == Decimal("5.00")
    escrow = Escrow.objects.get(pk=ids["escrow"])
    assert (escrow.order_id, escrow.status, escrow.amount, escrow.release_after, escrow.release_reason) == (
        ids["order"], "held", Decimal("35.00"), None, "")
    assert order.disputes.count() == 0
    assert PaymentWebhookEvent.objects.get(event_id="evt_old").result == ""

    wallet = Wallet.objects.get(pk=ids["wallet"])
    assert (wallet.user_id, wallet.balance, wallet.held_balance) == (ids["buyer"], Decimal("100.00"), Decimal("10.00"))
    assert LedgerEntry.objects.get(wallet=wallet).reference == "deposit:old"
    assert WalletHold.objects.get(wallet=wallet).status == "active"
    assert WalletDeposit.objects.get(pk=ids["deposit"]).reconcile_attempts == 0

    delivery = Delivery.objects.get(pk=ids["delivery"])
    assert (delivery.order_id, delivery.courier_id, delivery.status, delivery.pin, delivery.attempt, delivery.mode) == (
        ids["order"], ids["courier"], "delivered", "1234", 1, "courier")
    auction = Auction.objects.get(pk=ids["auction"])
    assert (auction.vendor_id, auction.title) == (ids["vendor"], "Old gearbox")
    assert Bid.objects.get(auction=auction).bidder_id == ids["buyer"]
    conversation = Conversation.objects.get(pk=ids["conversation"])
    assert (conversation.buyer_id, conversation.vendor_id) == (ids["buyer"], ids["vendor"])
    assert Message.objects.get(conversation=conversation).text == "Still in stock?"
    assert Notification.objects.get(recipient_id=ids["buyer"]).kind == "order.status_changed"
