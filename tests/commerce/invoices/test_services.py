"""Invoices and credit notes: issued with the payment and the refund, frozen copies of the
order's tax lines, numbered without gaps per store, kind and year, and credit notes that add up
to the invoice to the cent."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import transaction

from commerce.invoices.models import CreditNote, Invoice
from commerce.invoices.services import next_number
from commerce.payments import services as payments
from commerce.payments.models import Refund
from tests.commerce.invoices.helpers import checked_out, paid_taxed_order, taxed_store

pytestmark = pytest.mark.django_db


def rates(document):
    return [(r["rate"], r["net"], r["tax"], r["gross"]) for r in document.rates]


def test_paying_an_order_issues_its_invoice_with_the_orders_tax_lines():
    order = paid_taxed_order()
    invoice = order.invoice
    assert (invoice.number, invoice.sequence, invoice.year) == (f"INV-{invoice.issued_at.year}-000001", 1,
                                                                order.paid_at.year)
    assert [(line["kind"], line["description"], line["quantity"], line["tax_rate"], line["net"], line["tax"],
             line["gross"]) for line in invoice.lines] == [
        ("item", "Brake disc", 1, "19.00", "21.01", "3.99", "25.00"),
        ("item", "Manual", 3, "7.00", "13.99", "0.98", "14.97"),
        ("shipping", "Shipping: Parcel", 1, "19.00", "4.12", "0.78", "4.90"),
    ]
    assert rates(invoice) == [("19.00", "25.13", "4.77", "29.90"), ("7.00", "13.99", "0.98", "14.97")]
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (D("39.12"), D("5.75"), D("44.87"))
    assert invoice.gross_total == order.total and invoice.seller["name"] == order.vendor.name


def test_an_unpaid_order_has_no_invoice_and_the_document_is_frozen():
    order = checked_out(taxed_store())
    assert not Invoice.objects.filter(order=order).exists()
    order = paid_taxed_order()
    order.vendor.name = "Renamed GmbH"
    order.vendor.save()
    assert Invoice.objects.get(order=order).seller["name"] != "Renamed GmbH"


def test_numbers_run_per_store_and_per_kind():
    a, b = taxed_store(), taxed_store()
    numbers = [paid_taxed_order(a).invoice.sequence, paid_taxed_order(b).invoice.sequence,
               paid_taxed_order(a).invoice.sequence]
    assert numbers == [1, 1, 2]
    order = Invoice.objects.filter(vendor=a).order_by("sequence").last().order
    refund = payments.refund_create(user=a.owner, order_id=order.pk, amount="1.00", reason="scratch")
    assert refund.credit_note.number.startswith("CN-") and refund.credit_note.sequence == 1


def test_a_new_year_starts_at_one_and_a_rolled_back_number_is_given_back():
    vendor = taxed_store()
    assert [next_number(vendor_id=vendor.pk, kind="invoice", year=y) for y in (2026, 2026, 2027)] == [1, 2, 1]
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            assert next_number(vendor_id=vendor.pk, kind="invoice", year=2026) == 3
            raise RuntimeError("the payment failed after taking a number")
    assert next_number(vendor_id=vendor.pk, kind="invoice", year=2026) == 3


def test_a_partial_refund_credits_goods_by_rate_then_the_last_refund_reverses_the_rest_to_the_cent():
    order = paid_taxed_order()
    owner = order.vendor.owner
    payments.refund_create(user=owner, order_id=order.pk, amount="10.00", reason="damaged box")
    first = CreditNote.objects.get()
    # 10.00 over the goods left (25.00 at 19 %, 14.97 at 7 %): 6.25 and 3.75 (largest remainder)
    assert rates(first) == [("19.00", "5.25", "1.00", "6.25"), ("7.00", "3.50", "0.25", "3.75")]
    assert (first.gross_total, first.invoice_id, first.reason) == (D("10.00"), order.invoice.pk, "damaged box")
    payments.refund_create(user=owner, order_id=order.pk)
    last = CreditNote.objects.exclude(pk=first.pk).get()
    assert (first.sequence, last.sequence) == (1, 2)
    assert sorted((line["kind"], line["tax_rate"], line["tax"], line["gross"]) for line in last.lines) == [
        ("goods", "19.00", "2.99", "18.75"), ("goods", "7.00", "0.73", "11.22"), ("shipping", "19.00", "0.78", "4.90")]
    invoice = Invoice.objects.get(order=order)
    for field in ("net_total", "tax_total", "gross_total"):
        assert getattr(invoice, field) == getattr(first, field) + getattr(last, field), field


def test_refunding_the_shipping_fee_credits_it_at_the_fees_rate():
    order = paid_taxed_order()
    refund = payments.refund_create(user=order.vendor.owner, order_id=order.pk, amount="0.00", include_shipping=True)
    assert refund.shipping_amount == D("4.90")
    note = CreditNote.objects.get(refund=refund)
    assert [(line["kind"], line["tax_rate"], line["net"], line["tax"], line["gross"]) for line in note.lines] == [
        ("shipping", "19.00", "4.12", "0.78", "4.90")]


def test_a_refund_issues_its_credit_note_once_even_when_the_signal_repeats():
    from commerce.invoices.services import credit_note_issue

    order = paid_taxed_order()
    payments.refund_create(user=order.vendor.owner, order_id=order.pk, amount="5.00")
    refund = Refund.objects.get()
    with transaction.atomic():
        again = credit_note_issue(refund=refund, order=order, shipping_amount=D("0.00"))
    assert CreditNote.objects.count() == 1 and again == refund.credit_note
