"""The store owner's panels and the buyer's checkout in a real browser (issue 18 §6): headless
Chromium against a real Daphne process on the test database and Redis (tests/console/conftest.py).

- A catalogue import uploaded in the import panel: the job runs as the test settings run Celery
  jobs (eagerly, inside the Daphne process once the upload commits, as in
  tests/commerce/catalog/test_imports.py), and its ``catalog_import.progress`` events reach the
  page over the ``vendor:`` topic: the upload's own answer says ``queued``; only the events move
  the bar, through an intermediate value, to 100 %. The error report downloads as CSV.
- A checkout with a shipping choice: the buyer picks the dearer of two methods, sees the tax
  lines (line and shipping), pays, and downloads the invoice PDF (fetched with the bearer
  token into a blob); the PDF's text (pypdf) names the invoice, the product, the shipping
  method and the totals of the order in the database.
- The store, photos, shipping and payouts panels work for the owner and refuse what the role
  does not allow.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from commerce.catalog.models import CatalogImport, Product
from commerce.demo import demo_photo
from commerce.orders.models import Order
from commerce.payouts.models import Withdrawal
from commerce.shipping.models import ShippingMethod
from commerce.stores.models import VendorStaff, VendorStaffRole
from commerce.tax.models import StoreTaxSettings, TaxRate
from tests.console.conftest import WAIT_MS, shot, sign_in
from tests.factories.commerce import (
    BrandFactory,
    CategoryFactory,
    ProductFactory,
    ShippingMethodFactory,
    ShippingZoneFactory,
    VendorFactory,
)
from tests.factories.core import PASSWORD, AddressFactory, UserFactory
from tests.factories.stores import member, store_with_earnings

pytestmark = pytest.mark.live

HEADER = "sku,name,price,currency,stock,category,brand,attributes,images,tax_class,weight_g\n"


def no_page_errors(*pages) -> None:
    for page in pages:
        assert page.errors == [], page.errors


def german_rates() -> None:
    """The DE rates the checkout applies (the migration's rows may have been flushed by an
    earlier transactional test)."""
    for tax_class, rate in (("standard", "19.00"), ("reduced", "7.00")):
        TaxRate.objects.get_or_create(country="DE", tax_class=tax_class, valid_from=date(2007, 1, 1),
                                      defaults={"rate": Decimal(rate), "name": "USt."})


def test_an_import_moves_its_progress_bar_live_to_100_percent_and_reports_bad_rows(browser, console, dj, tmp_path):
    vendor = VendorFactory(name="Rapid Auto Parts")
    CategoryFactory(name="Parts", slug="parts")
    BrandFactory(name="Bosch", slug="bosch")
    rows = 260  # one progress event after the first 250 rows, so the bar stops between 0 and 100
    body = "".join(f"IMP-{i:04d},Imported part {i},{10 + i % 7}.50,EUR,{i % 9},Parts,bosch,,,standard,\n"
                   for i in range(rows - 1))
    body += "IMP-BAD,Broken row,not-a-price,EUR,1,Parts,,,,,\n"  # line rows + 1 of the file
    path = tmp_path / "catalogue.csv"
    path.write_text(HEADER + body)

    page = browser.page()
    sign_in(page, console, vendor.owner.email, PASSWORD)
    panel = page.locator("#panel-catalog-import")
    page.wait_for_selector("#panel-catalog-import .imports .empty")
    page.wait_for_function(f"consoleApp.rt.topics().some((t) => t.topic === 'vendor:{vendor.pk}' && t.status === 'live')")
    # every percentage the import's bar shows, in order (a MutationObserver on the list)
    page.evaluate("""() => {
      window.seenPercent = [];
      const list = document.querySelector('#panel-catalog-import .imports');
      const note = () => list.querySelectorAll('li.import').forEach((li) => {
        const p = Number(li.dataset.percent);
        if (window.seenPercent[window.seenPercent.length - 1] !== p) window.seenPercent.push(p);
      });
      new MutationObserver(note).observe(list, { subtree: true, childList: true, attributes: true });
    }""")
    panel.locator("input[type=file]").set_input_files(str(path))
    panel.locator("button.start-import").click()
    done = "#panel-catalog-import li.import[data-status='done'][data-percent='100']"
    page.wait_for_selector(done, timeout=120_000)

    seen = page.evaluate("window.seenPercent")
    assert seen[-1] == 100 and seen == sorted(seen), seen  # never backwards
    assert any(0 < p < 100 for p in seen), seen  # the 250-row event showed on its way
    text = panel.locator("li.import").inner_text()
    assert f"{rows - 1} created" in text and "1 errors" in text and f"{rows}/{rows} rows" in text
    job = dj(lambda: CatalogImport.objects.get(vendor=vendor))
    assert (job.status, job.rows_done, job.created, job.error_count) == ("done", rows, rows - 1, 1)
    assert dj(lambda: Product.objects.filter(vendor=vendor).count()) == rows - 1

    # the error report, downloaded through the panel (fetch with the bearer token → blob)
    with page.expect_download() as download:
        panel.locator("button.error-report").click()
    report = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(int(r["line"]), r["sku"], r["field"]) for r in report] == [(rows + 1, "IMP-BAD", "price")]
    panel.locator("button.show-errors").click()
    page.wait_for_selector("#panel-catalog-import .import-errors td:has-text('IMP-BAD')")
    shot(panel, "catalog-import")
    no_page_errors(page)


def test_checkout_with_a_shipping_choice_shows_tax_lines_and_downloads_the_invoice_pdf(browser, console, dj):
    german_rates()
    vendor = VendorFactory(name="Euro Motor Supply", shipping=False)
    StoreTaxSettings.objects.create(vendor=vendor, prices_include_tax=False)
    zone = ShippingZoneFactory(vendor=vendor, name="Germany", countries=["DE"])
    ShippingMethodFactory(zone=zone, name="Standard parcel", price=Decimal("4.90"))
    express = ShippingMethodFactory(zone=zone, name="Express courier", price=Decimal("9.90"))
    product = ProductFactory(vendor=vendor, name="Brake disc 280 mm", price=Decimal("100.00"), stock=5,
                             tax_class="standard")
    buyer = UserFactory(display_name="Bruno Buyer")
    AddressFactory(user=buyer, city="Berlin", postal_code="10117", is_default_shipping=True, is_default_billing=True)

    page = browser.page()
    sign_in(page, console, buyer.email, PASSWORD)
    pane_a = page.locator("[data-pane=a]")
    page.wait_for_selector(f"[data-pane=a] select option[value='{product.pk}']", state="attached")
    pane_a.locator("select").select_option(str(product.pk))
    pane_a.locator("button.add").click()
    choice = page.locator(f".checkout-box select.shipping-choice[data-vendor-id='{vendor.pk}']")
    choice.wait_for()
    options = choice.locator("option").all_inner_texts()
    assert options == ["Standard parcel — €4.90", "Express courier — €9.90"], options  # cheapest first
    assert "tax added at checkout" in page.locator(".checkout-box .store-shipping").inner_text()
    choice.select_option(str(express.pk))
    page.click(".checkout-box button.checkout")

    card = page.locator(".checkout-box .order-card")
    card.wait_for()
    order = dj(lambda: Order.objects.get(buyer=buyer))
    assert order.shipping_method_data["name"] == "Express courier"
    # hand-computed: 100.00 net + 19 % = 19.00; shipping 9.90 net + 19 % = 1.881 → 1.88 (half-up per line)
    assert (order.tax_total, order.shipping_total, order.total) == (Decimal("20.88"), Decimal("11.78"), Decimal("130.78"))
    line = card.locator("tr.line").inner_text()
    assert "100.00" in line and "19.00 %" in line and "119.00" in line, line
    shipping_line = card.locator("tr.shipping-line").inner_text()
    assert "Express courier" in shipping_line and "1.88" in shipping_line and "11.78" in shipping_line, shipping_line
    assert card.locator(".tax-total").inner_text() == "20.88"
    assert card.locator(".order-total").inner_text() == "130.78"

    card.locator("button.pay").click()  # card, the test gateway's tok_visa
    page.wait_for_selector(".checkout-box .order-card[data-status='paid'] button.download-invoice")
    invoice_button = card.locator("button.download-invoice")
    number = invoice_button.get_attribute("data-invoice")
    with page.expect_download() as download:
        invoice_button.click()
    assert download.value.suggested_filename == f"{number}.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    for expected in (number, "Brake disc 280 mm", "Express courier", "130.78", "20.88", "Euro Motor Supply"):
        assert expected in text, (expected, text)
    shot(page.locator("#panel-cart"), "checkout-invoice")
    no_page_errors(page)


def test_the_owner_edits_the_profile_invites_staff_uploads_photos_and_adds_a_shipping_method(browser, console, dj, tmp_path):
    vendor = VendorFactory(name="Garage Bits", shipping=False)
    clerk = member(vendor, VendorStaffRole.STAFF, display_name="Clara Clerk")
    product = ProductFactory(vendor=vendor, name="Spark plug NGK", stock=3)
    zone = ShippingZoneFactory(vendor=vendor, name="Germany", countries=["DE"])
    for k in range(2):
        (tmp_path / f"photo{k}.jpg").write_bytes(demo_photo(label=f"photo {k}", seed=f"photo-{k}", side=240))

    page = browser.page()
    sign_in(page, console, vendor.owner.email, PASSWORD)
    store = page.locator("#panel-store")
    store.locator("input[name=contact_phone]").wait_for()
    store.locator("input[name=contact_phone]").fill("+49 30 1234567")
    store.locator("input[name=website]").fill("not a url")
    store.locator("button.save-profile").click()
    page.wait_for_selector("#panel-store .status[data-kind='error']:has-text('website')")  # refused, nothing saved
    store.locator("input[name=website]").fill("https://garage-bits.example")
    store.locator("button.save-profile").click()
    page.wait_for_selector("#panel-store .status[data-kind='ok']")
    vendor_now = dj(lambda: type(vendor).objects.get(pk=vendor.pk))
    assert (str(vendor_now.contact_phone), vendor_now.website) == ("+49301234567", "https://garage-bits.example")
    store.locator(".logo-row input[type=file]").set_input_files(str(tmp_path / "photo0.jpg"))
    store.locator("button.upload-logo").click()
    page.wait_for_selector("#panel-store img.store-logo")

    store.locator(".invite-form input[name=email]").fill("new.manager@example.com")
    store.locator(".invite-form select").select_option("manager")
    store.locator(".invite-form button").click()
    page.wait_for_selector("#panel-store [data-invitation='new.manager@example.com']")
    store.locator(f"[data-member='{clerk.email}'] button.remove-member").click()
    page.wait_for_selector(f"#panel-store [data-member='{clerk.email}']", state="detached")
    assert not dj(lambda: VendorStaff.objects.filter(vendor=vendor, user=clerk).exists())
    shot(store, "store")

    photos = page.locator("#panel-photos")
    page.wait_for_selector(f"#panel-photos select.media-product option[value='{product.pk}']", state="attached")
    photos.locator("input[type=file]").set_input_files([str(tmp_path / "photo0.jpg"), str(tmp_path / "photo1.jpg")])
    photos.locator("button.upload-images").click()
    page.wait_for_function("document.querySelectorAll('#panel-photos .gallery li[data-image-id]').length === 2")
    first, second = photos.locator(".gallery li[data-image-id]").evaluate_all("(els) => els.map((e) => e.dataset.imageId)")
    assert photos.locator(f"li[data-image-id='{first}']").get_attribute("data-primary") == "1"
    photos.locator(f"li[data-image-id='{second}'] button.make-primary").click()
    page.wait_for_selector(f"#panel-photos li[data-image-id='{second}'][data-primary='1']")
    photos.locator(f"li[data-image-id='{second}'] button.up").click()
    page.wait_for_function(f"document.querySelector('#panel-photos .gallery li[data-image-id]').dataset.imageId === '{second}'")
    images = dj(lambda: list(product.images.order_by("position").values_list("id", "is_primary")))
    assert images == [(int(second), True), (int(first), False)]
    shot(photos, "photos")

    shipping = page.locator("#panel-shipping")
    shipping.locator("select[name=zone_id]").wait_for()
    page.wait_for_selector(f"#panel-shipping select[name=zone_id] option[value='{zone.pk}']", state="attached")
    shipping.locator("input[name=name]").fill("Parcel by weight")
    shipping.locator("select[name=rule]").select_option("weight")
    shipping.locator("input[name=weight_bands]").fill("1000:4.90, 5000:7.90")
    shipping.locator("input[name=free_above]").fill("150.00")
    shipping.locator("button.save-method").click()
    page.wait_for_selector("#panel-shipping [data-method='Parcel by weight'][data-rule='weight']")
    method = dj(lambda: ShippingMethod.objects.get(vendor=vendor, name="Parcel by weight"))
    assert (method.free_above, sorted(dj(lambda: list(method.weight_bands.values_list("max_weight_g", "price"))))) == (
        Decimal("150.00"), [(1000, Decimal("4.90")), (5000, Decimal("7.90"))])
    shipping.locator("[data-method='Parcel by weight'] button.edit").click()
    shipping.locator("input[name=name]").fill("Parcel (weight)")
    shipping.locator("button.save-method").click()
    page.wait_for_selector("#panel-shipping [data-method='Parcel (weight)']")
    assert dj(lambda: ShippingMethod.objects.filter(vendor=vendor).count()) == 1  # edited, not added
    shot(shipping, "shipping")
    no_page_errors(page)


def test_payouts_panel_withdraws_and_the_history_follows_staff_live(browser, console, dj):
    from commerce.payouts import services as payouts
    from tests.factories.core import AdminFactory

    vendor = store_with_earnings("300.00", minimum="20.00")
    admin = AdminFactory()
    page = browser.page()
    sign_in(page, console, vendor.owner.email, PASSWORD)
    panel = page.locator("#panel-payouts")
    page.wait_for_selector("#panel-payouts [data-bank='verified']")
    assert panel.locator(".available").inner_text() == "€300.00"
    panel.locator("input[name=amount]").fill("5.00")
    panel.locator("button.request-withdrawal").click()
    page.wait_for_selector("#panel-payouts .status[data-kind='error']:has-text('below_minimum')")
    panel.locator("input[name=amount]").fill("120.00")
    panel.locator("button.request-withdrawal").click()
    page.wait_for_selector("#panel-payouts .withdrawals li[data-status='requested']")
    page.wait_for_function("document.querySelector('#panel-payouts .available').textContent === '€180.00'")

    withdrawal = dj(lambda: Withdrawal.objects.get(vendor=vendor))
    dj(payouts.withdrawal_approve, withdrawal_id=withdrawal.pk, actor=admin)  # marketplace staff, another process
    dj(payouts.withdrawal_mark_paid, withdrawal_id=withdrawal.pk, actor=admin, bank_reference="SEPA-42")
    page.wait_for_selector("#panel-payouts .withdrawals li[data-status='paid']:has-text('SEPA-42')", timeout=WAIT_MS)
    assert panel.locator(".available").inner_text() == "€180.00"
    shot(panel, "payouts")
    no_page_errors(page)


def test_store_panels_show_only_what_the_role_allows(browser, console):
    from tests.factories.core import AdminFactory

    vendor = store_with_earnings("50.00")
    clerk = member(vendor, VendorStaffRole.STAFF)
    buyer, admin = UserFactory(), AdminFactory()

    page = browser.page()
    sign_in(page, console, clerk.email, PASSWORD)
    page.wait_for_selector(f"#panel-store [data-member='{clerk.email}']")
    assert page.locator("#panel-store button.save-profile").count() == 0  # staff read the profile
    assert page.locator("#panel-store .invite-form").count() == 0
    for panel in ("photos", "catalog-import", "shipping", "payouts"):
        page.wait_for_selector(f"#panel-{panel} [data-no-store]")

    other = browser.page()
    sign_in(other, console, buyer.email, PASSWORD)
    for panel in ("store", "photos", "catalog-import", "shipping", "payouts"):
        other.wait_for_selector(f"#panel-{panel} [data-no-store]:has-text('You do not work for a store')")

    # a marketplace admin reads the store's payouts and imports but gets no owner's controls
    staff = browser.page()
    sign_in(staff, console, admin.email, PASSWORD)
    staff.wait_for_selector("#panel-payouts [data-bank='verified']")
    assert staff.locator("#panel-payouts .available").inner_text() == "€50.00"
    assert staff.locator("#panel-payouts .withdraw-form, #panel-payouts .bank-form").count() == 0
    staff.wait_for_selector("#panel-catalog-import button.export[data-format='csv']")
    assert staff.locator("#panel-catalog-import button.start-import").count() == 0
    staff.wait_for_selector("#panel-photos [data-no-store]")
    no_page_errors(page, other, staff)


def test_the_store_panels_work_under_the_csp(browser, console, settings, tmp_path):
    """The store panels load the logo and the photos' thumbnails (img-src 'self') and download the
    catalogue (a blob link), with the policy enforced and no violation reported."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from commerce.catalog.media import product_image_upload
    from commerce.stores.services import vendor_set_logo
    from tests.console.test_console_csp import watch_csp

    vendor = VendorFactory(name="Rapid Auto Parts")
    product = ProductFactory(vendor=vendor, name="Oil filter", sku="OF-1")
    photo = demo_photo(label="OF-1", seed="of-1", side=240)
    vendor_set_logo(vendor_id=vendor.pk, actor=vendor.owner, file=SimpleUploadedFile("logo.jpg", photo))
    product_image_upload(user=vendor.owner, product_id=product.pk, file=SimpleUploadedFile("of-1.jpg", photo))

    page = browser.page(enforce_csp=True)
    violations = watch_csp(page)
    page.goto(console.url + "/console/")
    page.fill("#signin-form input[name=email]", vendor.owner.email)
    page.fill("#signin-form input[name=password]", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#conn-state[data-state='open']")
    for selector in ("#panel-store img.store-logo", "#panel-photos .gallery li[data-image-id] img"):
        page.wait_for_selector(selector)
        page.locator(selector).scroll_into_view_if_needed()  # the thumbnails load lazily
        loaded = page.locator(selector).evaluate(
            "(img) => Promise.race([img.decode().then(() => img.naturalWidth), new Promise((ok) => setTimeout(() => ok(-1), 5000))])")
        assert loaded > 0, (selector, loaded)  # decode() rejects (or times out) when the image did not load
    with page.expect_download() as download:
        page.click("#panel-catalog-import button.export[data-format='csv']")
    exported = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert [row["sku"] for row in exported] == ["OF-1"]
    page.wait_for_selector("#panel-shipping .shipping-methods li")
    page.wait_for_selector("#panel-payouts [data-bank='missing']")
    assert violations == [] and page.errors == [], (violations, page.errors)
