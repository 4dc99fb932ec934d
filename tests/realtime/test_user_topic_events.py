"""The ``user:`` topic in the style of Zulip's event tests: a buyer's client that starts from
what it shows and applies the events of its ``user:`` topic ends with exactly what a fresh load
shows, through a whole purchase — wallet top-up, checkout, payment, the order's moves, proof of
delivery and the buyer protection, a dispute decided by staff with a partial refund — plus its
inbox being read, unread, archived, "all read" and seen, a chat message, a cancelled delivery and
an operator's announcement.

The ``user:`` snapshot itself holds only counts (``notifications``, ``chat.total_unread``); the
events also keep what the app shows from its REST reads, so the state compared here is the
snapshot plus those reads, each built by the same payload function as the API:

* ``inbox``: the notifications (``GET /api/v1/notifications/``, archived included, newest first);
* ``wallets``: by currency (``GET /api/v1/wallet/`` without the ledger);
* ``orders``: the buyer's orders as summaries (``order.placed``, ``order.status_changed``);
* ``escrows``: by order (the ``escrow`` of ``GET /api/v1/orders/{id}/``);
* ``disputes``: by id (``GET /api/v1/disputes/{id}/`` without statements).

The reducer: ``notification.created`` adds an item, ``notification.updated`` merges one item's
state, ``notification.read_all`` / ``notification.seen_all`` stamp every unread / unseen item of
the inbox (not archived), ``notification.counts`` and ``chat.unread`` set the counts,
``wallet.updated`` (newer ``version``), ``order.*`` (``order.refunded`` too: the order after a
refund), ``escrow.updated`` (without its
``reason``) and ``dispute.*`` replace the object they carry; ``delivery.cancelled`` and
``system.announcement`` are notices (nothing to keep). Everything is compared.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from chat.services import conversation_start
from commerce.disputes import services as disputes
from commerce.disputes.models import Dispute
from commerce.disputes.selectors import dispute_data
from commerce.orders import services as orders
from commerce.orders.models import Order
from commerce.invoices.models import CreditNote, Invoice
from commerce.invoices.selectors import document_summary
from commerce.orders.selectors import order_summary
from commerce.payments import services as payments
from commerce.payments.escrow import escrow_data, open_dispute_id
from commerce.wallet.models import Escrow, Wallet
from commerce.wallet.services import wallet_data
from notifications import services as inbox_services
from notifications.models import Notification
from notifications.payloads import notification_dict
from realtime.registry import get_topic
from realtime.user_topic import USER_TOPIC
from tests.factories.chat import send
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AdminFactory
from tests.factories.delivery import deliver, dispatch, picked_up
from tests.factories.orders import buyer_with_cart, checkout_for, funded_wallet
from tests.realtime.replay import Client, wire, without

pytestmark = pytest.mark.django_db


def _newest_first(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda n: (n["created_at"], n["id"]), reverse=True)


def reduce_user(state: dict, type_: str, data: dict) -> dict:
    """What a buyer's app does with an event of its ``user:`` topic."""
    snapshot, inbox = state["snapshot"], state["inbox"]
    if type_ == "notification.created":
        state["inbox"] = _newest_first([*inbox, data])
    elif type_ == "notification.updated":
        for item in inbox:
            if item["id"] == data["id"]:
                item.update(data)
    elif type_ in ("notification.read_all", "notification.seen_all"):
        stamp, field = (data["read_at"], "read_at") if type_ == "notification.read_all" else (data["seen_at"], "seen_at")
        for item in inbox:
            if item[field] is None and item["archived_at"] is None:
                item[field] = stamp
                item["seen_at"] = item["seen_at"] or stamp
    elif type_ == "notification.counts":
        snapshot["notifications"] = data
    elif type_ == "chat.unread":
        snapshot["chat"]["total_unread"] = data["total_unread"]
    elif type_ == "wallet.updated":
        mine = state["wallets"].get(data["currency"])
        if mine is None or data["version"] > mine["version"]:
            state["wallets"][data["currency"]] = data
    elif type_ in ("order.placed", "order.status_changed", "order.refunded"):
        state["orders"][data["order"]["id"]] = data["order"]
    elif type_ == "escrow.updated":
        state["escrows"][data["order_id"]] = without(data, "reason")
    elif type_.startswith("dispute."):
        state["disputes"][data["dispute"]["id"]] = data["dispute"]
    elif type_ == "invoice.issued":
        state["documents"][data["invoice"]["id"]] = data["invoice"]
    elif type_ == "credit_note.issued":
        state["documents"][data["credit_note"]["id"]] = data["credit_note"]
    else:
        assert type_ in ("delivery.cancelled", "system.announcement"), type_
    return state


def buyer_state(user) -> dict:
    """What the buyer's app shows after a fresh load (the snapshot and its REST reads)."""
    orders_of = Order.objects.filter(buyer=user).select_related("vendor")
    return wire({
        "snapshot": get_topic(USER_TOPIC.kind).snapshot(user=user, key=str(user.pk)),
        "inbox": [notification_dict(n) for n in Notification.objects.filter(recipient=user, in_app=True)
                  .order_by("-created_at", "-id")],
        "wallets": {w.currency: wallet_data(w) for w in Wallet.objects.filter(user=user)},
        "orders": {str(o.pk): order_summary(o) for o in orders_of},
        "escrows": {str(e.order_id): escrow_data(e, dispute_id=open_dispute_id(order_id=e.order_id))
                    for e in Escrow.objects.filter(order__buyer=user).select_related("order")},
        "disputes": {str(d.pk): dispute_data(d) for d in Dispute.objects.filter(order__buyer=user)
                     .select_related("order__vendor")},
        "documents": {str(d.pk): document_summary(d) for d in [
            *Invoice.objects.filter(order__buyer=user).select_related("order"),
            *CreditNote.objects.filter(invoice__order__buyer=user).select_related("invoice__order")]},
    })


def test_a_buyer_applying_user_events_keeps_exactly_what_a_fresh_load_shows():
    vendor = VendorFactory()
    teapot = ProductFactory(vendor=vendor, stock=5, price="40.00")
    buyer = buyer_with_cart({teapot: 1})
    app = Client(user=buyer, topic=USER_TOPIC.name(buyer.pk), reduce=reduce_user, fetch=lambda: buyer_state(buyer))

    funded_wallet(buyer, "200.00")
    app.sync("wallet.updated")
    order = checkout_for(buyer=buyer).orders.get()
    app.sync("order.placed")
    payments.payment_create(user=buyer, order_id=order.pk, method="wallet")
    app.sync("wallet.updated", "order.status_changed", "notification.created", "notification.counts")

    delivery = dispatch(order)
    app.sync("order.status_changed")
    deliver(*picked_up(delivery))
    app.sync("order.status_changed", "escrow.updated")

    dispute = disputes.dispute_open(user=buyer, order_id=order.pk, reason="damaged", description="Chipped spout.")
    app.sync("dispute.opened", "escrow.updated")
    disputes.dispute_add_statement(user=vendor.owner, dispute_id=dispute.pk, text="Sorry! A partial refund?")
    app.sync("dispute.statement", "notification.created")
    disputes.dispute_resolve(user=AdminFactory(), dispute_id=dispute.pk, resolution="partial_refund", amount="15.00",
                             note="Refund for the chip.")
    app.sync("dispute.resolved", "escrow.updated", "wallet.updated", "order.refunded")

    first, second = Notification.objects.filter(recipient=buyer).order_by("created_at")[:2]
    inbox_services.mark_read(user=buyer, notification_id=first.pk)
    app.sync("notification.updated", "notification.counts")
    inbox_services.mark_unread(user=buyer, notification_id=first.pk)
    inbox_services.archive(user=buyer, notification_id=second.pk)
    app.sync("notification.updated", "notification.counts")
    inbox_services.mark_all_read(user=buyer)
    app.sync("notification.read_all", "notification.counts")
    inbox_services.unarchive(user=buyer, notification_id=second.pk)
    app.sync("notification.updated")
    orders.order_transition(user=vendor.owner, order_id=buyer_order(buyer, vendor, teapot).pk, to_status="processing")
    inbox_services.mark_seen(user=buyer)
    app.sync("notification.seen_all", "notification.counts")

    conversation = conversation_start(user=buyer, vendor_id=vendor.pk, context_type="order", context_id=order.pk).conversation
    send(conversation, vendor.owner, "Thanks for your patience.")
    app.sync("chat.unread")

    late = buyer_order(buyer, vendor, teapot)
    dispatch(late)
    orders.order_transition(user=vendor.owner, order_id=late.pk, to_status="cancelled", reason="out_of_stock")
    app.sync("delivery.cancelled", "order.status_changed", "wallet.updated")

    call_command("realtime_publish", USER_TOPIC.name(buyer.pk), "system.announcement", "--data",
                 '{"text": "Maintenance at 02:00 UTC"}', stdout=io.StringIO())
    app.sync("system.announcement")


def buyer_order(buyer, vendor, product) -> Order:
    """Another paid order of ``buyer`` (from the wallet)."""
    buyer_with_cart({product: 1}, buyer=buyer)
    order = checkout_for(buyer=buyer).orders.get()
    payments.payment_create(user=buyer, order_id=order.pk, method="wallet")
    return order
