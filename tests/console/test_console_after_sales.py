"""The after-sales panels of the console in a real browser (headless Chromium through Playwright)
against a real Daphne process on the test database and real Redis (issue 17 §5): a return from
request to refund, a support ticket between a requester and an agent, the live product page.

Each test creates its data first, then opens pages; Django work after that goes through ``dj``
(see ``tests.console.conftest.Browser``). Every wait is on a DOM or client condition, never a
fixed sleep. Screenshots land in tests/artifacts/console/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import client_for
from tests.console.conftest import shot, sign_in, topic_state
from tests.factories.core import PASSWORD, UserFactory
from tests.factories.returns import approved, delivered_order_of
from tests.factories.support import agent as support_agent
from tests.images import assert_no_metadata, gps_jpeg

pytestmark = pytest.mark.live


def live(page, topic: str) -> None:
    """Wait until the page's socket follows ``topic``."""
    page.wait_for_function("(t) => consoleApp.rt.topics().some((x) => x.topic === t && x.status === 'live')", arg=topic)


def record_frames(page) -> None:
    """Keep every frame the page's main socket receives, as text, in ``window.__frames``."""
    page.evaluate("() => { window.__frames = []; consoleApp.rt.on('frame', (f) => { "
                  "if (f.dir === 'in') window.__frames.push(JSON.stringify(f.frame)); }); }")


def test_a_return_from_request_to_refund_is_seen_live_in_the_buyers_panel(browser, console, dj):
    order = delivered_order_of([("24.00", 1), ("5.00", 2)])
    buyer, owner = order.buyer, order.vendor.owner
    line = order.lines.order_by("id").first()
    buyer_page, store_page = browser.page(), browser.page()
    sign_in(buyer_page, console, buyer.email, PASSWORD)
    sign_in(store_page, console, owner.email, PASSWORD)
    live(store_page, f"vendor:{order.vendor_id}")  # the store's desk: return events arrive there
    live(buyer_page, f"user:{buyer.pk}")

    # the buyer picks the delivered order, returns one unit of its first line (not the second)
    buyer_page.wait_for_selector(f"#panel-returns select.return-order option[value='{order.pk}']", state="attached")
    buyer_page.select_option("#panel-returns select.return-order", str(order.pk))
    first = buyer_page.locator(f"#panel-returns .return-request input[data-order-line-id='{line.pk}']")
    first.wait_for()
    assert first.input_value() == "1"
    buyer_page.fill(f"#panel-returns .return-request input[data-order-line-id]:not([data-order-line-id='{line.pk}'])", "0")
    buyer_page.select_option("#panel-returns .return-request select[name=reason]", "damaged")
    buyer_page.fill("#panel-returns .return-request textarea", "The housing is cracked.")
    buyer_page.set_input_files("#panel-returns .return-request input[type=file]",
                               files=[{"name": "crack.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}])
    buyer_page.click("#panel-returns button.request-return")
    buyer_page.wait_for_selector("#panel-returns li.return[data-status='requested'][data-side='buyer']")
    rid = buyer_page.get_attribute("#panel-returns li.return", "data-return-id")
    row = f"#panel-returns li.return[data-return-id='{rid}']"

    # the store sees it arrive live and walks it through; the buyer's panel follows each move
    # the store sees the buyer's photo (fetched with its token: the URL alone gives nothing)
    store_page.wait_for_selector(f"{row}[data-status='requested'] img.thumb[data-loaded='1']")
    store_page.click(f"{row}[data-status='requested'][data-side='store'] button[data-action='approve']")
    buyer_page.wait_for_selector(f"{row}[data-status='approved'] button[data-action='ship']")
    buyer_page.fill(f"{row} input.tracking", "00340434161234567890")
    buyer_page.click(f"{row} button[data-action='ship']")
    store_page.click(f"{row}[data-status='in_transit'] button[data-action='receive']")
    buyer_page.wait_for_selector(f"{row}[data-status='received']")
    store_page.select_option(f"{row}[data-status='received'] select.grade", "as_new")
    store_page.click(f"{row} button[data-action='inspect']")
    buyer_page.wait_for_selector(f"{row}[data-status='inspected']")
    store_page.click(f"{row}[data-status='inspected'] button[data-action='refund']")
    buyer_page.wait_for_selector(f"{row}[data-status='refunded'] .refund:has-text('€24.00')")
    assert "00340434161234567890" in buyer_page.inner_text(row)
    assert buyer_page.locator(f"{row} button[data-action]").count() == 0  # nothing left to do
    shot(buyer_page.locator("#panel-returns"), "returns-buyer")
    shot(store_page.locator("#panel-returns"), "returns-store")

    body = dj(lambda: client_for(buyer).get(f"/api/v1/returns/{rid}/").json())
    assert body["status"] == "refunded" and body["refund"]["amount"] == "24.00"
    assert [(x["order_line_id"], x["quantity"]) for x in body["lines"]] == [(line.pk, 1)]
    assert len(body["photos"]) == 1 and body["reason"] == "damaged"
    photo = dj(lambda: client_for(buyer).get(body["photos"][0]["url"]))
    assert photo.status_code == 200
    assert_no_metadata(b"".join(photo.streaming_content))  # uploaded through the panel, re-encoded
    assert [h["to_status"] for h in body["history"]] == ["requested", "approved", "in_transit", "received",
                                                         "inspected", "refunded"]
    state = topic_state(buyer_page, f"user:{buyer.pk}")
    assert state["gaps"] == 0 and state["resets"] == 0
    assert buyer_page.errors == [] and store_page.errors == []


def test_an_approved_return_goes_back_with_a_courier_pickup_from_the_panel(browser, console, dj):
    from commerce.returns.models import ReturnRequest

    order = delivered_order_of([("30.00", 1)])
    rma = approved(order, reason="wrong_item")
    page = browser.page()
    sign_in(page, console, order.buyer.email, PASSWORD)
    row = f"#panel-returns li.return[data-return-id='{rma.pk}']"
    page.click(f"{row}[data-status='approved'] button[data-action='courier']")
    page.wait_for_selector(f"{row}:has-text('courier (delivery')")
    # the return waits for the courier; sending it with a carrier instead is still offered
    assert page.locator(f"{row} button[data-action='courier']").count() == 0
    assert page.locator(f"{row} button[data-action='ship']").count() == 1
    pickup = dj(lambda: ReturnRequest.objects.get(pk=rma.pk).pickup_delivery_id)
    assert pickup is not None and str(pickup)[:8] in page.inner_text(row)
    assert page.errors == []


def test_a_ticket_between_a_requester_and_an_agent_never_shows_the_internal_note(browser, console, dj):
    requester = UserFactory(display_name="Rita Requester")
    agent = support_agent(display_name="Sam Support")
    note = "Escrow still held for this order - internal only"
    requester_page, agent_page = browser.page(), browser.page()
    sign_in(agent_page, console, agent.email, PASSWORD)
    live(agent_page, "support_queue:all")
    sign_in(requester_page, console, requester.email, PASSWORD)
    record_frames(requester_page)

    # the requester opens a ticket from the form
    requester_page.click("#panel-tickets details.new-ticket summary")
    requester_page.select_option("#panel-tickets select[name=category]", "payment")
    requester_page.select_option("#panel-tickets select[name=priority]", "high")
    requester_page.fill("#panel-tickets input[name=subject]", "Charged twice")
    requester_page.fill("#panel-tickets textarea[name=text]", "My bank shows two payments.")
    requester_page.click("#panel-tickets button.open-ticket")
    requester_page.wait_for_selector("#panel-tickets .ticket-messages li.mine:has-text('My bank shows two payments.')")
    tid = requester_page.get_attribute("#panel-tickets .tickets.mine li.active", "data-ticket-id")
    live(requester_page, f"ticket:{tid}")

    # the agent's queue shows it live; they take it, write an internal note, then reply
    agent_page.click(f"#panel-tickets .tickets.queue li[data-ticket-id='{tid}']:has-text('Charged twice')")
    agent_page.wait_for_selector("#panel-tickets .ticket-messages li.theirs:has-text('two payments')")
    agent_page.click("#panel-tickets button.assign-me")
    agent_page.wait_for_selector(f"#panel-tickets .tickets.queue li[data-ticket-id='{tid}']:has-text('→ Sam Support')")
    agent_page.fill("#panel-tickets input.note-input", note)
    agent_page.click("#panel-tickets button.note-add")
    agent_page.wait_for_selector(f"#panel-tickets .note-list li:has-text('{note}')")
    agent_page.fill("#panel-tickets textarea.ticket-input", "One was an authorisation, released today.")
    agent_page.click("#panel-tickets button.ticket-send")

    # the requester sees the reply and the new status live, never the note
    requester_page.wait_for_selector("#panel-tickets .ticket-messages li.theirs[data-side='staff']:has-text('released today')")
    requester_page.wait_for_selector("#panel-tickets .ticket-thread .ticket-status[data-state='pending_customer']")
    requester_page.wait_for_selector("#panel-tickets .ticket-thread .chat-head:has-text('Sam Support')")
    requester_page.fill("#panel-tickets textarea.ticket-input", "Thanks, it is gone now.")
    requester_page.set_input_files("#panel-tickets input.ticket-file",
                                   files=[{"name": "statement.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}])
    requester_page.press("#panel-tickets textarea.ticket-input", "Enter")
    agent_page.wait_for_selector("#panel-tickets .ticket-messages li.theirs:has-text('it is gone now') img.thumb[data-loaded='1']")
    agent_page.wait_for_selector("#panel-tickets .ticket-thread .ticket-status[data-state='pending_staff']")
    # the agent's reply is read by the requester (read receipts on ticket:)
    agent_page.wait_for_selector("#panel-tickets .ticket-messages li.mine:has-text('released today') .receipt[data-state='read']")
    shot(requester_page.locator("#panel-tickets"), "tickets-requester")
    shot(agent_page.locator("#panel-tickets"), "tickets-staff")

    assert requester_page.locator("#panel-tickets .notes").is_hidden()
    assert note not in requester_page.content()
    frames = requester_page.evaluate("window.__frames")
    assert any("released today" in f for f in frames)  # the recorder saw the thread's events
    assert not any(note in f for f in frames)
    assert requester_page.errors == [] and agent_page.errors == []
    notes = dj(lambda: client_for(requester).get(f"/api/v1/support/tickets/{tid}/notes/"))
    assert notes.status_code == 403


def test_store_staff_open_a_ticket_for_their_store_about_one_of_its_orders(browser, console, dj):
    order = delivered_order_of([("9.00", 1)])
    owner, vendor = order.vendor.owner, order.vendor
    page = browser.page()
    sign_in(page, console, owner.email, PASSWORD)
    page.click("#panel-tickets details.new-ticket summary")
    page.wait_for_selector(f"#panel-tickets select[name=role] option[value='store:{vendor.pk}']", state="attached")
    page.select_option("#panel-tickets select[name=role]", f"store:{vendor.pk}")
    page.wait_for_selector(f"#panel-tickets select[name=order] option[value='{order.pk}']", state="attached")
    page.select_option("#panel-tickets select[name=order]", str(order.pk))
    page.fill("#panel-tickets input[name=subject]", "Buyer says the parcel was empty")
    page.fill("#panel-tickets textarea[name=text]", "Please look at the courier's proof.")
    page.click("#panel-tickets button.open-ticket")
    page.wait_for_selector("#panel-tickets .tickets.mine li.active:has-text('Buyer says the parcel was empty')")
    tid = page.get_attribute("#panel-tickets .tickets.mine li.active", "data-ticket-id")
    body = dj(lambda: client_for(owner).get(f"/api/v1/support/tickets/{tid}/").json())
    assert body["requester"]["role"] == "store" and body["vendor_id"] == str(vendor.pk)
    assert body["links"]["order_id"] == str(order.pk)
    assert page.errors == []


def test_the_live_product_page_follows_price_stock_rating_and_unavailability(browser, console, dj):
    from commerce.catalog import services as catalog
    from commerce.reviews import services as reviews

    order = delivered_order_of([("19.90", 1)])
    buyer, owner = order.buyer, order.vendor.owner
    line = order.lines.get()
    product_id = line.product_id
    watcher = UserFactory()
    page = browser.page()
    sign_in(page, console, watcher.email, PASSWORD)
    page.fill("#panel-product input.id-input", str(product_id))
    page.click("#panel-product button:has-text('Open')")
    view = f"#panel-product .product-page[data-product-id='{product_id}']"
    page.wait_for_selector(f"{view}[data-available='true'][data-rating-count='0']")
    assert "€19.90" in page.inner_text(f"{view} .product-price")

    dj(lambda: catalog.product_update(user=owner, product_id=product_id, price=Decimal("17.50"), stock=2))
    page.wait_for_selector(f"{view}[data-price='17.50'][data-stock='2']")
    assert "€17.50" in page.inner_text(f"{view} .product-price")

    dj(lambda: reviews.review_create(user=buyer, order_line_id=line.pk, rating=4, title="Fits well", text="Good part."))
    page.wait_for_selector(f"{view}[data-rating-count='1'] .rating-average:has-text('4.00')")
    page.wait_for_selector(f"{view} .reviews.latest li.review:has-text('Fits well')")

    dj(lambda: catalog.product_update(user=owner, product_id=product_id, is_active=False))
    page.wait_for_selector(f"{view}[data-available='false'] .unavailable-note:has-text('deactivated')")
    shot(page.locator("#panel-product"), "product")
    state = topic_state(page, f"product:{product_id}")
    assert state["gaps"] == 0
    assert page.errors == []


def test_a_buyer_reviews_a_delivered_line_and_sees_the_stores_reply_live(browser, console):
    order = delivered_order_of([("12.00", 1)])
    buyer, owner = order.buyer, order.vendor.owner
    line = order.lines.get()
    buyer_page, store_page = browser.page(), browser.page()
    sign_in(buyer_page, console, buyer.email, PASSWORD)
    sign_in(store_page, console, owner.email, PASSWORD)
    live(store_page, f"vendor:{order.vendor_id}")

    buyer_page.wait_for_selector(f"#panel-reviews select.review-order option[value='{order.pk}']", state="attached")
    buyer_page.select_option("#panel-reviews select.review-order", str(order.pk))
    form = f"#panel-reviews li.review-form[data-order-line-id='{line.pk}']"
    buyer_page.select_option(f"{form} select.rating", "4")
    buyer_page.fill(f"{form} input.review-title", "Solid pads")
    buyer_page.fill(f"{form} textarea.review-body", "No squeal after 500 km.")
    buyer_page.set_input_files(f"{form} input.review-photos",
                               files=[{"name": "pads.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}])
    buyer_page.click(f"{form} button.post-review")
    buyer_page.wait_for_selector(f"#panel-reviews li[data-order-line-id='{line.pk}'][data-reviewed='1']")
    buyer_page.wait_for_selector("#panel-reviews .reviews.mine li.review:has-text('Solid pads') .stars:has-text('★★★★☆')")

    # the store's desk gets the new review live and answers it
    item = "#panel-reviews .store-list li.review:has-text('Solid pads')"
    store_page.wait_for_selector(f"{item} img.thumb[data-loaded='1']")  # the buyer's photo
    store_page.fill(f"{item} input.reply-text", "Thanks for the feedback!")
    store_page.click(f"{item} button.reply")
    store_page.wait_for_selector(f"{item} .store-reply:has-text('Thanks for the feedback!')")
    buyer_page.wait_for_selector("#panel-reviews .reviews.mine li.review:has-text('Solid pads') "
                                 ".store-reply:has-text('Thanks for the feedback!')")
    shot(buyer_page.locator("#panel-reviews"), "reviews-buyer")
    shot(store_page.locator("#panel-reviews"), "reviews-store")
    assert buyer_page.errors == [] and store_page.errors == []


def test_the_demo_data_fills_the_after_sales_panels(browser, console, debug_on, tmp_path):
    """``seed_demo`` (support.demo) gives each panel something to show: buyer2's returns in every
    state, the store's actions on them, and the support queue's active tickets."""
    import io

    from django.core.management import call_command

    from commerce.returns.models import ReturnStatus

    debug_on.MEDIA_ROOT = str(tmp_path)
    call_command("seed_demo", stdout=io.StringIO())
    password = debug_on.DEMO_PASSWORD

    buyer = browser.page()
    sign_in(buyer, console, "buyer2@demo.market", password)
    buyer.wait_for_function("document.querySelectorAll('#panel-returns li.return').length === 10")
    statuses = buyer.eval_on_selector_all("#panel-returns li.return", "(els) => els.map((e) => e.dataset.status)")
    assert sorted(statuses) == sorted(ReturnStatus.values)
    buyer.wait_for_selector("#panel-returns li.return[data-status='approved'] button[data-action='ship']")
    buyer.wait_for_selector("#panel-returns li.return[data-status='rejected'] button[data-action='escalate']")
    buyer.wait_for_selector("#panel-returns li.return[data-status='rejected_after_inspection'] .refund:has-text('Nothing refunded')")
    assert "restocking fee" in buyer.inner_text("#panel-returns li.return[data-status='partially_refunded'] .refund")
    buyer.wait_for_selector("#panel-reviews .reviews.mine li.review[data-status='hidden']")
    buyer.wait_for_selector("#panel-reviews .reviews.mine li.review .store-reply")
    shot(buyer.locator("#panel-returns"), "demo-returns-buyer2")

    store = browser.page()
    sign_in(store, console, "vendor2@demo.market", password)
    for status, action in (("requested", "approve"), ("in_transit", "receive"), ("received", "inspect"),
                           ("inspected", "refund")):
        store.wait_for_selector(f"#panel-returns li.return[data-side='store'][data-status='{status}'] "
                                f"button[data-action='{action}']")

    staff = browser.page()
    sign_in(staff, console, "admin@demo.market", password)
    staff.wait_for_function("document.querySelectorAll('#panel-tickets .tickets.queue li.ticket').length === 3")
    staff.select_option("#panel-tickets select.queue-view", "unassigned")
    staff.wait_for_function("document.querySelectorAll('#panel-tickets .tickets.queue li.ticket').length === 1")
    shot(staff.locator("#panel-tickets"), "demo-tickets-admin")
    staff.wait_for_selector("#panel-reviews .reviews.reported li.review:has-text('Good, slow courier'):has-text('off topic')")
    assert buyer.errors == [] and store.errors == [] and staff.errors == []


def test_a_review_reported_from_the_product_page_is_hidden_by_staff_and_leaves_it_live(browser, console):
    from commerce.reviews import services as reviews

    order = delivered_order_of([("15.00", 1)])
    line = order.lines.get()
    review = reviews.review_create(user=order.buyer, order_line_id=line.pk, rating=1, title="Visit my shop",
                                   text="Better prices at example dot com")
    watcher, staff = UserFactory(), support_agent()
    watcher_page, staff_page, author_page = browser.page(), browser.page(), browser.page()
    sign_in(watcher_page, console, watcher.email, PASSWORD)
    sign_in(author_page, console, order.buyer.email, PASSWORD)
    item = f"#panel-product .reviews.latest li.review[data-review-id='{review.pk}']"
    watcher_page.fill("#panel-product input.id-input", str(line.product_id))
    watcher_page.click("#panel-product button:has-text('Open')")
    watcher_page.select_option(f"{item} select.report-reason", "spam")
    watcher_page.click(f"{item} button.report")
    watcher_page.wait_for_selector(f"{item} .report-state:has-text('reported')")
    assert watcher_page.locator(f"{item} button.report").is_disabled()  # once per person
    # its author may not report it: the refusal's code is shown
    author_page.fill("#panel-product input.id-input", str(line.product_id))
    author_page.click("#panel-product button:has-text('Open')")
    author_page.click(f"{item} button.report")
    author_page.wait_for_selector(f"{item} .report-state:has-text('review_action_not_allowed')")

    sign_in(staff_page, console, staff.email, PASSWORD)
    queued = f"#panel-reviews .reviews.reported li.review[data-review-id='{review.pk}']"
    staff_page.wait_for_selector(f"{queued}:has-text('1 open report: spam')")
    staff_page.fill(f"{queued} input.hide-reason", "Advertising another shop.")
    staff_page.click(f"{queued} button.hide")
    staff_page.wait_for_selector("#panel-reviews .reviews.reported li:has-text('No open reports.')")

    # the product page drops it and the rating follows; its author sees why, live
    watcher_page.wait_for_selector("#panel-product .product-page[data-rating-count='0']")
    assert watcher_page.locator(item).count() == 0
    author_page.wait_for_selector(f"#panel-reviews .reviews.mine li.review[data-review-id='{review.pk}'][data-status='hidden']"
                                  ":has-text('Advertising another shop.')")
    assert watcher_page.errors == [] and staff_page.errors == [] and author_page.errors == []
