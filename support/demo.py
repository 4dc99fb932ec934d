"""After-sales demo data (run by ``manage.py seed_demo`` after the other apps' seeders): what
happens once an order arrived. It lives in the support app because support is the top layer
(``.importlinter``): the only one that may use the delivery flow (a delivered order needs the
courier's proof of delivery), returns, reviews and tickets together. Everything goes through
the real services, so the events, notifications and ledger entries are the real ones.

* **buyer1's returnable order**: two lines from Euro Motor Supply, delivered by courier2 just
  now, so well inside the return window; nothing returned yet (the console walks a return of it
  end to end with vendor2).
* **A return in each state** for buyer2, one line each of an order of thirteen lines from Euro
  Motor Supply (return window 30 days, restocking fee up to 15 %): requested, approved, rejected,
  in transit (a carrier's tracking number), received, inspected, refunded (arrived damaged),
  partially refunded (changed mind, opened, 10 % restocking fee), rejected after inspection
  (changed mind, returned damaged) and cancelled.
* **Reviews** by buyer2 of the three lines of that order no return touched: five stars with the
  store's public reply, four stars that buyer3 reported (waiting in the staff's review queue),
  and two stars hidden by marketplace staff with a reason.
* **A support ticket in each state**: open (buyer1 about the delivery on its way, unassigned),
  pending customer (buyer2 about a return, with an internal note), pending staff (buyer3),
  resolved (buyer2) and closed (courier1, as a courier).

Idempotent: each part is skipped once its natural key exists (buyer1 has an order from Euro
Motor Supply; buyer2 has a return; a requester has a ticket with that subject).
"""

from __future__ import annotations

from commerce.cart.services import cart_add_item, cart_clear, cart_get
from commerce.catalog.models import Product
from commerce.orders import checkout
from commerce.orders import services as order_services
from commerce.orders.models import Order, OrderStatus
from commerce.payments.services import payment_create
from commerce.returns import services as returns
from commerce.returns.models import ReturnPolicy, ReturnRequest
from commerce.reviews import services as reviews
from commerce.wallet.models import LedgerKind
from commerce.wallet.services import wallet_credit
from delivery import services as deliveries
from delivery.models import Delivery
from support import services as tickets
from support.models import Ticket

#: the return of each state, one line each: (state, reason, grade at the inspection)
RETURN_STATES: list[tuple[str, str, str]] = [
    ("requested", "damaged", ""),
    ("approved", "wrong_item", ""),
    ("rejected", "changed_mind", ""),
    ("in_transit", "not_as_described", ""),
    ("received", "damaged", ""),
    ("inspected", "wrong_item", "opened"),
    ("refunded", "damaged", "as_new"),
    ("partially_refunded", "changed_mind", "opened"),
    ("rejected_after_inspection", "changed_mind", "damaged"),
    ("cancelled", "other", ""),
]

#: buyer2's reviews of the lines no return touched: (stars, title, text, the store's reply, buyer3's
#: report waiting for staff, hidden by staff with)
REVIEWS: list[tuple[int, str, str, str, str, str]] = [
    (5, "Exactly the OEM part", "Fitted in ten minutes, quiet since. Well packed.",
     "Thank you! Tell us if you need the matching rear set.", "", ""),
    (4, "Good, slow courier", "The part is fine; the delivery took a day longer than promised.", "",
     "It is about the courier, not the part.", ""),
    (2, "Call me for a better deal", "Cheaper at my shop, phone 0151 234 567 89.", "", "",
     "Advertising and a phone number: reviews are about the product."),
]

#: tickets, one per state: (requester, role, category, priority, subject, first message, the script)
TICKETS: list[tuple[str, str, str, str, str, str, list[tuple[str, str]]]] = [
    ("buyer1", "buyer", "delivery", "high", "Is my parcel still coming today?",
     "The tracking shows the courier near me but nothing moved for a while.", []),
    ("buyer2", "buyer", "return", "normal", "When does my return refund arrive?",
     "The store received my return two days ago.",
     [("assign", ""), ("note", "Escrow still held for this order: the refund comes from it, no wallet check needed."),
      ("staff", "The store is inspecting it; could you send a photo of the parcel label meanwhile?")]),
    ("buyer3", "buyer", "payment", "normal", "Charged twice for one order?",
     "My bank shows two payments of the same amount.",
     [("assign", ""), ("staff", "I see one payment and one authorisation that was released. Can you check the dates?"),
      ("requester", "The second one is gone from my bank today, thanks. One more question about the invoice though.")]),
    ("buyer2", "buyer", "account", "low", "Change the e-mail address of my account",
     "I moved to a new provider; can you change my login e-mail?",
     [("staff", "Done: you can sign in with the new address now."), ("move", "resolved")]),
    ("courier1", "courier", "delivery", "normal", "The app froze at a pickup",
     "At the pickup the PIN screen did not open; I had to restart the app.",
     [("assign", ""), ("staff", "Fixed in today's release; please update the app."), ("move", "resolved"),
      ("requester_move", "closed")]),
]


def seed(ctx) -> None:
    """The after-sales demo (see the module docstring); needs the demo accounts, both active
    stores and courier2."""
    courier, vendor = ctx.users.get("courier2"), ctx.vendors.get("vendor2")
    if courier is None or vendor is None:
        return
    seed_returnable_order(ctx, courier=courier, vendor=vendor)
    seed_returns_and_reviews(ctx, courier=courier, vendor=vendor)
    seed_tickets(ctx)


def delivered_order(*, buyer, products: list[Product], courier) -> Order:
    """``buyer`` buys one unit of each of ``products`` (one store) with the cheapest shipping
    method offered and their wallet (credited with the order's total first); the store dispatches; ``courier`` claims, picks up and
    completes with the buyer's PIN. Returns the delivered :class:`Order`. Raises what the services
    raise (``insufficient_stock``, ``too_many_active``...)."""
    cart_clear(user=buyer)
    for product in products:
        cart_add_item(user=buyer, product_id=product.pk, quantity=1)
    stores = cart_get(user=buyer).data["shipping"]["stores"]
    choice = {s["vendor_id"]: s["methods"][0]["id"] for s in stores if s["methods"]}
    order = checkout.checkout_create(buyer=buyer, shipping_methods=choice).orders.get()
    # topped up by the order's total first, so the demo works whatever the wallet was spent on
    wallet_credit(user=buyer, amount=order.total, currency=order.currency, kind=LedgerKind.DEPOSIT,
                  reference=f"demo:after-sales:{order.number}", memo="Demo credit for an after-sales demo order")
    payment_create(user=buyer, order_id=order.id, method="wallet")
    owner = products[0].vendor.owner
    for status in (OrderStatus.PROCESSING, OrderStatus.READY_FOR_PICKUP):
        order_services.order_transition(user=owner, order_id=order.id, to_status=status)
    delivery = Delivery.objects.get(order=order)
    deliveries.delivery_claim(courier=courier, delivery_id=delivery.pk)
    deliveries.delivery_set_status(courier=courier, delivery_id=delivery.pk, status="picked_up")
    deliveries.delivery_complete(courier=courier, delivery_id=delivery.pk, pin=delivery.pin)
    return Order.objects.select_related("vendor").get(pk=order.pk)


def _cheapest(vendor, *, count: int, skip: int = 0) -> list[Product]:
    """``count`` of the store's cheapest products on sale (ties by SKU), after ``skip``."""
    return list(Product.objects.public().filter(vendor=vendor, stock__gte=3).order_by("price", "sku")[skip:skip + count])


def seed_returnable_order(ctx, *, courier, vendor) -> None:
    """buyer1's delivered order of two lines from ``vendor``, nothing returned."""
    buyer = ctx.users.get("buyer1")
    if buyer is None or Order.objects.filter(buyer=buyer, vendor=vendor).exists():
        return
    products = _cheapest(vendor, count=2, skip=20)
    if len(products) < 2:
        return
    order = delivered_order(buyer=buyer, products=products, courier=courier)
    ctx.count("orders", 1)
    ctx.summary.append(f"Returns: buyer1's order {order.number} from {vendor.name} delivered just now, inside its "
                       "return window (request a return in the console; vendor2 handles it)")


def seed_returns_and_reviews(ctx, *, courier, vendor) -> None:
    """buyer2's order of thirteen lines from ``vendor``: a return in each state on the first
    ten lines, reviews on the last three (see the module docstring)."""
    buyer, owner, staff = ctx.users.get("buyer2"), vendor.owner, ctx.users.get("admin")
    if buyer is None or ReturnRequest.objects.filter(order__buyer=buyer).exists():
        return
    products = _cheapest(vendor, count=len(RETURN_STATES) + len(REVIEWS))
    if len(products) < len(RETURN_STATES) + len(REVIEWS):
        return
    if not ReturnPolicy.objects.filter(vendor=vendor).exists():
        returns.return_policy_update(user=owner, vendor_id=vendor.pk, window_days=30,
                                     restocking_fee_max_percent="15.00")
    order = delivered_order(buyer=buyer, products=products, courier=courier)
    lines = list(order.lines.order_by("id"))
    for line, (state, reason, grade) in zip(lines, RETURN_STATES):
        _return_to(state, order=order, line=line, reason=reason, grade=grade, owner=owner)
    ctx.count("returns", len(RETURN_STATES))
    reporter = ctx.users.get("buyer3")
    for line, (stars, title, text, reply, report, hidden) in zip(lines[len(RETURN_STATES):], REVIEWS):
        review = reviews.review_create(user=buyer, order_line_id=line.pk, rating=stars, title=title, text=text)
        if reply:
            reviews.review_reply(user=owner, review_id=review.pk, text=reply)
        if report and reporter is not None:
            reviews.review_report(user=reporter, review_id=review.pk, reason="off_topic", text=report)
        if hidden and staff is not None:
            reviews.review_moderate(user=staff, review_id=review.pk, to_status="hidden", reason=hidden)
    ctx.count("reviews", len(REVIEWS))
    ctx.summary.append(f"Returns: buyer2's order {order.number} from {vendor.name} has a return in each state "
                       f"({', '.join(s for s, _, _ in RETURN_STATES)}) and three reviews (one with the store's "
                       "reply, one reported, one hidden by staff)")


def _return_to(state: str, *, order: Order, line, reason: str, grade: str, owner) -> None:
    """A return of ``line`` moved to ``state`` by the buyer's and the store's own calls."""
    rma = returns.return_request(user=order.buyer, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 1}],
                                 reason=reason, description=f"Demo return: {line.product_name}.")
    if state == "requested":
        return
    if state == "cancelled":
        returns.return_cancel(user=order.buyer, return_id=rma.pk)
        return
    if state == "rejected":
        returns.return_reject(user=owner, return_id=rma.pk, reason="Opened and used parts cannot be returned.")
        return
    returns.return_approve(user=owner, return_id=rma.pk, note="Please send it back in its box.")
    if state == "approved":
        return
    returns.return_ship(user=order.buyer, return_id=rma.pk, transport="carrier", carrier="DHL",
                        tracking_number=f"00340434{line.pk:012d}")
    if state == "in_transit":
        return
    returns.return_receive(user=owner, return_id=rma.pk)
    if state == "received":
        return
    rma_lines = [{"id": rl.pk, "grade": grade} for rl in rma.lines.order_by("id")]
    returns.return_inspect(user=owner, return_id=rma.pk, grades=rma_lines, note="Checked on arrival.")
    if state == "inspected":
        return
    fee = "10.00" if reason in ("changed_mind", "other") else None
    returns.return_refund(user=owner, return_id=rma.pk, restocking_fee_percent=fee)


def seed_tickets(ctx) -> None:
    """One support ticket per state (:data:`TICKETS`), answered by the demo admin."""
    staff = ctx.users.get("admin")
    made = 0
    for short, role, category, priority, subject, text, script in TICKETS:
        requester = ctx.users.get(short)
        if staff is None or requester is None or Ticket.objects.filter(requester=requester, subject=subject).exists():
            continue
        links = {}
        if short == "buyer1":
            order = Order.objects.filter(buyer=requester, status=OrderStatus.OUT_FOR_DELIVERY).order_by("created_at").first()
            links = {"order_id": order.pk} if order else {}
        ticket = tickets.ticket_open(user=requester, role=role, category=category, priority=priority, subject=subject,
                                     text=text, **links)
        for step, value in script:
            if step == "assign":
                tickets.ticket_assign(user=staff, ticket_id=ticket.pk, assignee_id=staff.pk)
            elif step == "note":
                tickets.note_add(user=staff, ticket_id=ticket.pk, text=value)
            elif step == "staff":
                tickets.message_send(user=staff, ticket_id=ticket.pk, text=value)
            elif step == "requester":
                tickets.message_send(user=requester, ticket_id=ticket.pk, text=value)
            elif step == "move":
                tickets.ticket_transition(user=staff, ticket_id=ticket.pk, to_status=value)
            elif step == "requester_move":
                tickets.ticket_transition(user=requester, ticket_id=ticket.pk, to_status=value)
        made += 1
    ctx.count("tickets", made)
    if made:
        ctx.summary.append(f"Support: a ticket in each state (open, pending customer, pending staff, resolved, closed); "
                           f"{staff.email if staff else 'admin'} works the queue")

