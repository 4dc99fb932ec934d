"""Invoices over REST: the buyer and the store read and download them (PDF rendered by
WeasyPrint, read back with pypdf), anyone else gets 401/404 on every endpoint."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from commerce.invoices.models import CreditNote
from commerce.payments import services as payments
from commerce.stores.models import VendorStaffRole
from tests.commerce.invoices.helpers import checked_out, paid_taxed_order, taxed_store
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def refunded():
    """A paid order with one partial refund: its invoice and credit note."""
    order = paid_taxed_order()
    payments.refund_create(user=order.vendor.owner, order_id=order.pk, amount="10.00", reason="damaged box")
    return order, order.invoice, CreditNote.objects.get()


def test_the_buyer_downloads_the_invoice_pdf_with_its_lines_and_totals(refunded):
    order, invoice, _ = refunded
    r = client_for(order.buyer).get(f"/api/v1/invoices/{invoice.pk}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert r.content.startswith(b"%PDF-")
    text = pdf_text(r.content)
    for expected in (f"Invoice {invoice.number}", f"Order {order.number}", order.vendor.name, "Brake disc",
                     "Manual", "Shipping: Parcel", "19.00 %", "7.00 %", "25.13", "4.77", "13.99", "0.98",
                     "39.12", "5.75", "44.87", invoice.buyer["full_name"]):
        assert expected in text, expected
    again = client_for(order.vendor.owner).get(f"/api/v1/invoices/{invoice.pk}/pdf/")
    assert again.status_code == 200 and again.content == r.content  # rendered once, kept


def test_the_credit_note_pdf_references_the_invoice(refunded):
    order, invoice, note = refunded
    r = client_for(order.vendor.owner).get(f"/api/v1/credit-notes/{note.pk}/pdf/")
    assert r.status_code == 200
    text = pdf_text(r.content)
    for expected in (f"Credit note {note.number}", f"Credits invoice {invoice.number}", "damaged box", "10.00",
                     "1.25"):
        assert expected in text, expected


def test_the_order_lists_its_documents_and_the_invoice_names_its_credit_notes(refunded):
    order, invoice, note = refunded
    body = client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/invoices/").json()
    assert body["invoice"]["number"] == invoice.number
    assert body["invoice"]["credit_note_ids"] == [str(note.pk)]
    assert [n["number"] for n in body["credit_notes"]] == [note.number]
    assert body["invoice"]["pdf_url"] == f"/api/v1/invoices/{invoice.pk}/pdf/"
    detail = client_for(order.buyer).get(f"/api/v1/credit-notes/{note.pk}/").json()
    assert (detail["invoice_id"], detail["gross_total"]) == (str(invoice.pk), "10.00")


def test_an_unpaid_order_has_no_invoice_yet():
    order = checked_out(taxed_store())
    body = client_for(order.buyer).get(f"/api/v1/orders/{order.pk}/invoices/").json()
    assert body == {"invoice": None, "credit_notes": []}


def test_the_list_shows_the_buyer_and_the_stores_staff_their_own_invoices(refunded):
    order, invoice, _ = refunded
    paid_taxed_order()  # someone else's
    clerk = VendorStaffFactory(vendor=order.vendor, role=VendorStaffRole.STAFF).user
    for user in (order.buyer, order.vendor.owner, clerk):
        assert [i["id"] for i in client_for(user).get("/api/v1/invoices/").json()["results"]] == [str(invoice.pk)]
    assert client_for(UserFactory()).get("/api/v1/invoices/").json()["results"] == []
    assert len(client_for(AdminFactory()).get("/api/v1/invoices/").json()["results"]) == 2


def test_wrong_actors_get_nothing_from_any_endpoint(refunded):
    order, invoice, note = refunded
    urls = {
        f"/api/v1/invoices/{invoice.pk}/": "invoice_not_found",
        f"/api/v1/invoices/{invoice.pk}/pdf/": "invoice_not_found",
        f"/api/v1/credit-notes/{note.pk}/": "credit_note_not_found",
        f"/api/v1/credit-notes/{note.pk}/pdf/": "credit_note_not_found",
        f"/api/v1/orders/{order.pk}/invoices/": "order_not_found",
    }
    outsiders = [client_for(UserFactory()), client_for(VendorFactory().owner)]
    for url, code in urls.items():
        r = APIClient().get(url)
        assert (r.status_code, r.json()["code"]) == (401, "not_authenticated"), url
        for client in outsiders:
            r = client.get(url)
            assert (r.status_code, r.json()["code"]) == (404, code), url
            if url.endswith("/pdf/"):
                r = client.get(url, HTTP_ACCEPT="application/pdf")
                assert r.status_code == 404 and r["Content-Type"].startswith("application/json"), url
    assert client_for(AdminFactory()).get(f"/api/v1/invoices/{invoice.pk}/pdf/").status_code == 200
    assert client_for(UserFactory()).get("/api/v1/invoices/not-a-uuid/").status_code == 404
