"""The permission vocabulary, role by role: every predicate of ``core.permissions`` and of each
app's ``permissions.py`` against every kind of person (docs/architecture.md, "Permission
vocabulary").

One world per test, made through the real services: an active store (its owner, a manager and a
clerk with the ``staff`` role), a buyer, a courier, three kinds of marketplace admin (the ``admin`` role
alone, Django staff alone, a superuser alone), an inactive user who holds every flag, role and a
store membership (and so must pass nothing), and an anonymous visitor. Each table row names a
predicate, its object and exactly who passes; the queryset forms are checked to agree with the
predicates row by row.
"""

from __future__ import annotations

import ast
import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from auctions import permissions as auction_perms
from auctions import services as auction_services
from auctions.models import Auction, AuctionStatus
from chat import permissions as chat_perms
from chat.models import Conversation
from commerce.disputes import permissions as dispute_perms
from commerce.disputes.models import Dispute
from commerce.invoices import permissions as invoice_perms
from commerce.invoices.models import CreditNote, Invoice
from commerce.orders import permissions as order_perms
from commerce.payments import services as payment_services
from commerce.payouts import permissions as payout_perms
from commerce.payouts.models import PayoutAccount, Withdrawal
from commerce.returns import permissions as return_perms
from commerce.returns.models import ReturnRequest
from commerce.reviews import permissions as review_perms
from commerce.reviews.models import Review
from commerce.shipping import permissions as shipping_perms
from commerce.stores import permissions as store_perms
from commerce.stores.models import VendorStaff, VendorStaffRole
from core import permissions as core_perms
from core.models import Role, User
from delivery import permissions as delivery_perms
from delivery.models import Delivery, DeliveryStatus
from support import permissions as support_perms
from support.models import Ticket
from tests.factories.auctions import live_auction
from tests.factories.chat import ConversationFactory, send
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import UserFactory
from tests.factories.delivery import courier as make_courier
from tests.factories.delivery import delivered_order, picked_up, ready_delivery
from tests.factories.disputes import DisputeFactory
from tests.factories.orders import paid_order
from tests.factories.returns import delivered_order_of, requested
from tests.factories.reviews import reviewed
from tests.factories.support import open_ticket

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

#: the people of every table, in the order they are reported
ROLES = ("buyer", "owner", "manager", "clerk", "courier", "admin_role", "django_staff", "superuser", "inactive", "anonymous")
ADMINS = {"admin_role", "django_staff", "superuser"}
ACTIVE = set(ROLES) - {"inactive", "anonymous"}
STORE = {"owner", "manager", "clerk"}
#: the roles that manage products, orders and returns
MANAGERS = {"owner", "manager"}

#: every predicate module of the vocabulary
MODULES = (core_perms, store_perms, order_perms, delivery_perms, auction_perms, chat_perms, dispute_perms,
           shipping_perms, invoice_perms, payout_perms, return_perms, review_perms, support_perms)


def people(vendor) -> dict:
    """The ten kinds of person; the store is ``vendor`` (its owner exists already)."""
    clerk = UserFactory(roles=[Role.VENDOR])
    VendorStaff.objects.create(vendor=vendor, user=clerk, role=VendorStaffRole.STAFF)
    manager = UserFactory(roles=[Role.VENDOR])
    VendorStaff.objects.create(vendor=vendor, user=manager, role=VendorStaffRole.MANAGER)
    inactive = UserFactory(roles=[Role.ADMIN, Role.COURIER, Role.VENDOR, Role.BUYER], is_staff=True,
                           is_superuser=True, is_active=False)
    VendorStaff.objects.create(vendor=vendor, user=inactive, role=VendorStaffRole.OWNER)
    return {
        "buyer": UserFactory(),
        "owner": vendor.owner,
        "manager": manager,
        "clerk": clerk,
        "courier": make_courier(),
        "admin_role": UserFactory(roles=[Role.ADMIN]),
        "django_staff": UserFactory(is_staff=True),
        "superuser": UserFactory(is_superuser=True),
        "inactive": inactive,
        "anonymous": AnonymousUser(),
    }


def mismatches(who: dict, rows) -> list[str]:
    """``rows`` of ``(label, fn(user) -> value, {role: expected} or set of roles passing)``: every
    role whose value differs from the expectation (a set means True for those roles, False for
    the rest)."""
    out = []
    for label, fn, expected in rows:
        for role in ROLES:
            want = (role in expected) if isinstance(expected, (set, frozenset)) else expected.get(role)
            got = fn(who[role])
            if got != want:
                out.append(f"{label}: {role} got {got!r}, expected {want!r}")
    return out


def agrees(who: dict, label: str, predicate, in_query) -> list[str]:
    """The queryset form of a predicate selects the object for exactly the people the predicate
    lets through."""
    return [f"{label}: {role} predicate {predicate(who[role])} but query {in_query(who[role])}"
            for role in ROLES if predicate(who[role]) != in_query(who[role])]


def test_role_predicates_and_the_stores_room():
    vendor = VendorFactory()
    who = people(vendor)
    rows = [
        ("is_active_user", core_perms.is_active_user, ACTIVE),
        ("is_marketplace_admin", core_perms.is_marketplace_admin, ADMINS),
        ("is_courier", core_perms.is_courier, {"courier"}),
        ("has_role(vendor)", lambda u: core_perms.has_role(u, Role.VENDOR), STORE),
        ("is_account_owner(buyer)", lambda u: core_perms.is_account_owner(u, who["buyer"].pk), {"buyer"}),
        ("is_store_staff", lambda u: store_perms.is_store_staff(u, vendor), STORE),
        ("is_store_staff(by id)", lambda u: store_perms.is_store_staff(u, vendor.pk), STORE),
        ("is_store_staff(roles=owner)", lambda u: store_perms.is_store_staff(u, vendor, roles=[VendorStaffRole.OWNER]),
         {"owner"}),
        ("is_store_staff(roles=staff)", lambda u: store_perms.is_store_staff(u, vendor, roles=[VendorStaffRole.STAFF]),
         {"clerk"}),
        ("is_store_staff(roles=managing)", lambda u: store_perms.is_store_staff(u, vendor, roles=store_perms.MANAGING_ROLES),
         MANAGERS),
        ("is_store_owner", lambda u: store_perms.is_store_owner(u, vendor), {"owner"}),
        ("is_store_owner(by id)", lambda u: store_perms.is_store_owner(u, vendor.pk), {"owner"}),
        ("can_manage_store_staff", lambda u: store_perms.can_manage_store_staff(u, vendor), {"owner"} | ADMINS),
        ("can_set_store_status", lambda u: store_perms.can_set_store_status(u, vendor), ADMINS),
        ("can_manage_store", lambda u: store_perms.can_manage_store(u, vendor), MANAGERS | ADMINS),
        ("can_see_all_shipping_methods", lambda u: shipping_perms.can_see_all_shipping_methods(u, vendor),
         STORE | ADMINS),
        ("can_edit_store_profile", lambda u: store_perms.can_edit_store_profile(u, vendor), {"owner"} | ADMINS),
        ("can_view_store_staff", lambda u: store_perms.can_view_store_staff(u, vendor), STORE | ADMINS),
        ("can_manage_products", lambda u: store_perms.can_manage_products(u, vendor), MANAGERS),
        ("can_manage_payouts", lambda u: store_perms.can_manage_payouts(u, vendor), {"owner"}),
        ("store_ids_of", lambda u: store_perms.store_ids_of(u) == [vendor.pk], STORE),
    ]
    assert mismatches(who, rows) == []
    ids = set(User.objects.filter(core_perms.marketplace_admins_q()).values_list("pk", flat=True))
    assert agrees(who, "marketplace_admins_q", core_perms.is_marketplace_admin,
                  lambda u: getattr(u, "pk", None) in ids) == []


def test_payouts_room():
    """Owners manage payouts; marketplace admins who do not work for the store review and pay
    (four eyes: the inactive co-owner holds every admin flag and passes nothing anyway)."""
    vendor = VendorFactory()
    who = people(vendor)
    account = PayoutAccount.objects.create(vendor=vendor, holder_name="Store", iban="DE89370400440532013000",
                                           bic="COBADEFFXXX")
    withdrawal = Withdrawal(vendor=vendor, account_holder=vendor.owner, requested_by=vendor.owner, amount="10.00",
                            holder_name="Store", iban=account.iban, bic=account.bic)
    insider = UserFactory(is_staff=True)
    VendorStaff.objects.create(vendor=vendor, user=insider, role=VendorStaffRole.MANAGER)
    rows = [
        ("can_view_payouts", lambda u: payout_perms.can_view_payouts(u, vendor), {"owner"} | ADMINS),
        ("can_review_bank_details", lambda u: payout_perms.can_review_bank_details(u, account), ADMINS),
        ("can_process_withdrawal", lambda u: payout_perms.can_process_withdrawal(u, withdrawal), ADMINS),
        ("can_see_payout_queue", lambda u: payout_perms.can_see_payout_queue(u), ADMINS),
    ]
    assert mismatches(who, rows) == []
    assert payout_perms.can_see_payout_queue(insider) is True
    assert payout_perms.can_review_bank_details(insider, account) is False
    assert payout_perms.can_process_withdrawal(insider, withdrawal) is False


def test_orders_room():
    vendor = VendorFactory()
    who = people(vendor)
    order = paid_order(buyer=who["buyer"], vendor=vendor)
    rows = [
        ("is_order_buyer", lambda u: order_perms.is_order_buyer(u, order), {"buyer"}),
        ("can_view_order", lambda u: order_perms.can_view_order(u, order), {"buyer"} | STORE | ADMINS),
        ("can_move_order(processing)", lambda u: order_perms.can_move_order(u, order, "processing"), STORE | ADMINS),
        ("can_move_order(cancelled)", lambda u: order_perms.can_move_order(u, order, "cancelled"),
         {"buyer"} | STORE | ADMINS),
        ("can_move_order(refunded: system only)", lambda u: order_perms.can_move_order(u, order, "refunded"), set()),
        ("can_move_order(delivered: map refuses)", lambda u: order_perms.can_move_order(u, order, "delivered"), set()),
        ("order_moves_for", lambda u: order_perms.order_moves_for(u, order),
         {"buyer": ["cancelled"], "owner": ["cancelled", "processing"], "manager": ["cancelled", "processing"],
          "clerk": ["cancelled", "processing"],
          "courier": [], "admin_role": ["cancelled", "processing"], "django_staff": ["cancelled", "processing"],
          "superuser": ["cancelled", "processing"], "inactive": [], "anonymous": []}),
        ("can_refund_order", lambda u: order_perms.can_refund_order(u, order), MANAGERS | ADMINS),
    ]
    assert mismatches(who, rows) == []


def test_delivery():
    vendor = VendorFactory()
    who = people(vendor)
    delivery, _ = picked_up(ready_delivery(buyer=who["buyer"], vendor=vendor, method="wallet"), who["courier"])
    delivery = Delivery.objects.select_related("order").get(pk=delivery.pk)
    unclaimed = Delivery(order=delivery.order, status=DeliveryStatus.PENDING)
    watchers = {"buyer", "courier"} | STORE | ADMINS
    rows = [
        ("is_delivery_carrier", lambda u: delivery_perms.is_delivery_carrier(u, delivery), {"courier"}),
        ("can_watch_delivery", lambda u: delivery_perms.can_watch_delivery(u, delivery), watchers),
        ("can_track_delivery", lambda u: delivery_perms.can_track_delivery(u, delivery), watchers),
        ("can_view_open_delivery(pending)", lambda u: delivery_perms.can_view_open_delivery(u, unclaimed), {"courier"}),
        ("can_view_open_delivery(claimed)", lambda u: delivery_perms.can_view_open_delivery(u, delivery), set()),
        ("can_take_delivery_for_store", lambda u: delivery_perms.can_take_delivery_for_store(u, delivery), STORE),
        ("can_reset_delivery_pin", lambda u: delivery_perms.can_reset_delivery_pin(u, delivery), ADMINS),
        ("is_delivery_receiver", lambda u: delivery_perms.is_delivery_receiver(u, delivery), {"buyer"}),
        ("is_delivery_receiver(return)", lambda u: delivery_perms.is_delivery_receiver(
            u, Delivery(order=delivery.order, kind="return")), STORE),
    ]
    assert mismatches(who, rows) == []
    assert agrees(who, "watchable_deliveries_q", lambda u: delivery_perms.can_watch_delivery(u, delivery),
                  lambda u: Delivery.objects.filter(delivery_perms.watchable_deliveries_q(u), pk=delivery.pk).exists()) == []
    delivery.status = DeliveryStatus.DELIVERED  # tracking ended: the buyer reads it, no longer tracks it
    assert mismatches(who, [("can_track_delivery(ended)", lambda u: delivery_perms.can_track_delivery(u, delivery),
                             watchers - {"buyer"})]) == []


def test_auctions():
    vendor = VendorFactory()
    who = people(vendor)
    live = live_auction(vendor=vendor)
    now = timezone.now()
    pending = auction_services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title="Pending lamp",
                                              start_price="5.00", ends_at=now + timedelta(hours=2))
    won = Auction(vendor=vendor, status=AuctionStatus.ENDED, order_id=paid_order(buyer=who["buyer"], vendor=vendor).pk,
                  leader=who["buyer"])
    rows = [
        ("can_view_auction(pending)", lambda u: auction_perms.can_view_auction(u, pending), STORE | ADMINS),
        ("can_view_auction(live)", lambda u: auction_perms.can_view_auction(u, live), ACTIVE),
        ("is_auction_store_staff", lambda u: auction_perms.is_auction_store_staff(u, live), STORE),
        # the flag of the lock query answers for the user it was loaded for, and only for them
        ("is_auction_store_staff(flagged)", lambda u: auction_perms.is_auction_store_staff(
            u, auction_perms.with_store_staff_flag(Auction.objects.all(), u).get(pk=live.pk)), STORE),
        ("is_auction_store_staff(flagged for the owner)", lambda u: auction_perms.is_auction_store_staff(
            u, auction_perms.with_store_staff_flag(Auction.objects.all(), vendor.owner).get(pk=live.pk)), STORE),
        ("can_approve_auction", lambda u: auction_perms.can_approve_auction(u, pending), ADMINS),
        ("can_cancel_auction", lambda u: auction_perms.can_cancel_auction(u, pending), MANAGERS | ADMINS),
        ("can_cancel_auction(with bids)", lambda u: auction_perms.can_cancel_auction(u, live, with_bids=True), ADMINS),
        ("can_see_auction_order", lambda u: auction_perms.can_see_auction_order(u, won), {"buyer"} | STORE),
    ]
    assert mismatches(who, rows) == []
    for auction in (pending, live):
        assert agrees(who, f"visible_auctions_q({auction.status})", lambda u: auction_perms.can_view_auction(u, auction),
                      lambda u: Auction.objects.filter(auction_perms.visible_auctions_q(u), pk=auction.pk).exists()) == []


def test_chat():
    vendor = VendorFactory()
    who = people(vendor)
    conversation = ConversationFactory(buyer=who["buyer"], vendor=vendor)
    message = send(conversation, who["buyer"])
    flagged = chat_perms.with_store_staff_flag(Conversation.objects.filter(pk=conversation.pk), who["clerk"]).get()
    side = {"buyer": "buyer", "owner": "vendor", "manager": "vendor", "clerk": "vendor"}
    rows = [
        ("is_chat_participant", lambda u: chat_perms.is_chat_participant(u, conversation), {"buyer"} | STORE),
        ("chat_side", lambda u: chat_perms.chat_side(u, conversation), side),
        ("is_message_sender", lambda u: chat_perms.is_message_sender(u, message), {"buyer"}),
        ("can_handle_chat_reports", chat_perms.can_handle_chat_reports, ADMINS),
    ]
    assert mismatches(who, rows) == []
    assert chat_perms.chat_side(who["clerk"], flagged) == "vendor"
    assert agrees(who, "chat_participant_q", lambda u: chat_perms.is_chat_participant(u, conversation),
                  lambda u: Conversation.objects.filter(chat_perms.chat_participant_q(u), pk=conversation.pk).exists()) == []


def test_support():
    vendor = VendorFactory()
    who = people(vendor)
    ticket = open_ticket(requester=who["buyer"])
    own_ticket = open_ticket(requester=who["superuser"])  # an agent's own ticket: they are its requester
    rows = [
        ("is_support_agent", support_perms.is_support_agent, ADMINS),
        ("ticket_side", lambda u: support_perms.ticket_side(u, ticket), {"buyer": "requester", **{a: "staff" for a in ADMINS}}),
        ("ticket_side(own)", lambda u: support_perms.ticket_side(u, own_ticket),
         {"superuser": "requester", "admin_role": "staff", "django_staff": "staff"}),
        ("can_view_ticket", lambda u: support_perms.can_view_ticket(u, ticket), {"buyer"} | ADMINS),
        ("can_work_ticket", lambda u: support_perms.can_work_ticket(u, ticket), ADMINS),
        ("can_work_ticket(own)", lambda u: support_perms.can_work_ticket(u, own_ticket), {"admin_role", "django_staff"}),
        ("ticket_moves_for", lambda u: support_perms.ticket_moves_for(u, ticket),
         {role: ([] if role not in ADMINS | {"buyer"} else ["closed", "open", "resolved"] if role == "buyer"
                 else ["closed", "open", "pending_customer", "pending_staff", "resolved"]) for role in ROLES}),
        ("can_see_support_queue", support_perms.can_see_support_queue, ADMINS),
    ]
    assert mismatches(who, rows) == []
    assert agrees(who, "visible_tickets_q", lambda u: support_perms.can_view_ticket(u, ticket),
                  lambda u: Ticket.objects.filter(support_perms.visible_tickets_q(u), pk=ticket.pk).exists()) == []


def test_disputes():
    vendor = VendorFactory()
    who = people(vendor)
    dispute = DisputeFactory(order=delivered_order(buyer=who["buyer"], vendor=vendor, method="wallet"))
    dispute = Dispute.objects.select_related("order").get(pk=dispute.pk)
    rows = [
        ("dispute_role", lambda u: dispute_perms.dispute_role(u, dispute.order),
         {"buyer": "buyer", "owner": "store", "manager": "store", "clerk": "store", **{a: "staff" for a in ADMINS}}),
        ("can_view_dispute", lambda u: dispute_perms.can_view_dispute(u, dispute), {"buyer"} | STORE | ADMINS),
        ("can_withdraw_dispute", lambda u: dispute_perms.can_withdraw_dispute(u, dispute), {"buyer"}),
        ("can_resolve_dispute", lambda u: dispute_perms.can_resolve_dispute(u, dispute), ADMINS),
        ("can_see_dispute_queue", dispute_perms.can_see_dispute_queue, ADMINS),
    ]
    assert mismatches(who, rows) == []
    assert agrees(who, "visible_disputes_q", lambda u: dispute_perms.can_view_dispute(u, dispute),
                  lambda u: Dispute.objects.filter(dispute_perms.visible_disputes_q(u), pk=dispute.pk).exists()) == []


def test_returns():
    vendor = VendorFactory()
    who = people(vendor)
    order = delivered_order_of([("10.00", 1)], buyer=who["buyer"], vendor=vendor)
    rma = ReturnRequest.objects.select_related("order").get(pk=requested(order).pk)
    rows = [
        ("is_return_buyer", lambda u: return_perms.is_return_buyer(u, rma), {"buyer"}),
        ("can_view_return", lambda u: return_perms.can_view_return(u, rma), {"buyer"} | STORE | ADMINS),
        ("can_handle_return", lambda u: return_perms.can_handle_return(u, rma), STORE | ADMINS),
        ("can_edit_return_policy", lambda u: return_perms.can_edit_return_policy(u, vendor), {"owner"} | ADMINS),
    ]
    assert mismatches(who, rows) == []
    assert agrees(who, "visible_returns_q", lambda u: return_perms.can_view_return(u, rma),
                  lambda u: ReturnRequest.objects.filter(return_perms.visible_returns_q(u), pk=rma.pk).exists()) == []


def test_reviews():
    vendor = VendorFactory()
    who = people(vendor)
    order = delivered_order_of([("10.00", 1)], buyer=who["buyer"], vendor=vendor)
    review = Review.objects.select_related("vendor").get(pk=reviewed(order).pk)
    hidden = Review(pk=review.pk, author=review.author, vendor=vendor, rating=1, status="hidden")
    everyone = set(ROLES)
    rows = [
        ("is_review_author", lambda u: review_perms.is_review_author(u, review), {"buyer"}),
        ("can_reply_to_review", lambda u: review_perms.can_reply_to_review(u, review), STORE),
        ("can_view_review(counted)", lambda u: review_perms.can_view_review(u, review), everyone),
        ("can_view_review(hidden)", lambda u: review_perms.can_view_review(u, hidden), {"buyer"} | STORE | ADMINS),
        ("can_report_review", lambda u: review_perms.can_report_review(u, review), ACTIVE - {"buyer"}),
        ("can_moderate_reviews", review_perms.can_moderate_reviews, ADMINS),
    ]
    assert mismatches(who, rows) == []
    for label, obj in (("counted", review), ("hidden", hidden)):
        if label == "hidden":
            Review.objects.filter(pk=review.pk).update(status="hidden")
        assert agrees(who, f"visible_reviews_q({label})", lambda u: review_perms.can_view_review(u, obj),
                      lambda u: Review.objects.filter(review_perms.visible_reviews_q(u), pk=review.pk).exists()) == []


def test_invoices_room():
    vendor = VendorFactory()
    who = people(vendor)
    order = paid_order(buyer=who["buyer"], vendor=vendor)
    payment_services.refund_create(user=vendor.owner, order_id=order.pk, amount="1.00")
    invoice = Invoice.objects.select_related("order").get(order=order)
    note = CreditNote.objects.select_related("invoice__order").get(invoice=invoice)
    readers = {"buyer"} | STORE | ADMINS
    rows = [
        ("can_view_tax_document(invoice)", lambda u: invoice_perms.can_view_tax_document(u, invoice), readers),
        ("can_view_tax_document(credit note)", lambda u: invoice_perms.can_view_tax_document(u, note), readers),
    ]
    assert mismatches(who, rows) == []
    assert agrees(who, "tax_documents_q", lambda u: invoice_perms.can_view_tax_document(u, invoice),
                  lambda u: Invoice.objects.filter(invoice_perms.tax_documents_q(u), pk=invoice.pk).exists()) == []
    assert agrees(who, "tax_documents_q(credit notes)", lambda u: invoice_perms.can_view_tax_document(u, note),
                  lambda u: CreditNote.objects.filter(invoice_perms.tax_documents_q(u, order_field="invoice__order"),
                                                      pk=note.pk).exists()) == []


def test_an_admin_of_the_store_speaks_for_the_store_and_cannot_decide_its_dispute():
    dispute = DisputeFactory()
    order = dispute.order
    admin_clerk = UserFactory(roles=[Role.ADMIN])
    VendorStaffFactory(vendor=order.vendor, user=admin_clerk)
    assert dispute_perms.dispute_role(admin_clerk, order) == "store"
    assert not dispute_perms.can_resolve_dispute(admin_clerk, dispute)


def _public_functions(module) -> set[str]:
    return {name for name, obj in inspect.getmembers(module, inspect.isfunction)
            if obj.__module__ == module.__name__ and not name.startswith("_")}


def test_every_predicate_is_in_the_architecture_table_and_tested_here():
    """The vocabulary, its documentation and this test name the same predicates."""
    documented_rows = re.search(r"## Permission vocabulary\n(.*?)\n## ", (ROOT / "docs/architecture.md").read_text(), re.S)
    assert documented_rows, "docs/architecture.md has no 'Permission vocabulary' section"
    documented = set(re.findall(r"^\| `(\w+)\(", documented_rows.group(1), re.M))
    defined = set().union(*(_public_functions(m) for m in MODULES))
    assert defined == documented, (sorted(defined - documented), sorted(documented - defined))
    source = ast.parse(Path(__file__).read_text())
    used = {n.attr for n in ast.walk(source) if isinstance(n, ast.Attribute)}
    assert defined - used == set()


def test_no_permission_check_outside_the_vocabulary():
    """No module but the permissions modules reads the raw flags (``is_staff``, ``is_superuser``,
    ``roles`` containment, ``is_authenticated``) to decide who may do something."""
    pattern = re.compile(r"\.is_staff\b|\.is_superuser\b|\"is_staff\"|\"is_superuser\"|is_authenticated|Role\.ADMIN in|"
                         r"Role\.COURIER in|is_staff_or_admin|\.is_admin\b")
    allowed = {f"{m.__name__.replace('.', '/')}.py" for m in MODULES} | {"core/models.py", "core/admin.py",
                                                                         "commerce/management/commands/seed_demo.py"}
    offenders = []
    for app in ("core", "realtime", "notifications", "commerce", "auctions", "delivery", "chat", "support", "threads",
                "simulator"):
        for path in (ROOT / app).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            if "migrations" in rel or rel in allowed:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []

