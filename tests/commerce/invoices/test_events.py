"""``invoice.issued`` and ``credit_note.issued`` go to the buyer's ``user:`` topic and the
store's ``vendor:`` desk with the payment or refund that issued the document."""

from __future__ import annotations

import pytest

from commerce.invoices.models import CreditNote
from commerce.payments import services as payments
from core.exceptions import Conflict
from realtime.models import OutboxEvent
from tests.commerce.invoices.helpers import paid_taxed_order

pytestmark = pytest.mark.django_db


def sent(type_: str) -> dict[str, dict]:
    return {e.topic: e.data for e in OutboxEvent.objects.filter(type=type_)}


def test_the_buyer_and_the_store_hear_of_the_invoice_and_the_credit_note():
    order = paid_taxed_order()
    invoice = order.invoice
    events = sent("invoice.issued")
    assert set(events) == {f"user:{order.buyer_id}", f"vendor:{order.vendor_id}"}
    data = events[f"user:{order.buyer_id}"]["invoice"]
    assert (data["id"], data["number"], data["gross_total"], data["tax_total"], data["pdf_url"]) == (
        str(invoice.pk), invoice.number, "44.87", "5.75", f"/api/v1/invoices/{invoice.pk}/pdf/")
    payments.refund_create(user=order.vendor.owner, order_id=order.pk, amount="10.00")
    note = CreditNote.objects.get()
    events = sent("credit_note.issued")
    assert set(events) == {f"user:{order.buyer_id}", f"vendor:{order.vendor_id}"}
    data = events[f"vendor:{order.vendor_id}"]
    assert (data["credit_note"]["number"], data["invoice_number"], data["credit_note"]["gross_total"]) == (
        note.number, invoice.number, "10.00")


def test_a_refused_refund_issues_and_announces_nothing():
    order = paid_taxed_order()
    with pytest.raises(Conflict) as refused:
        payments.refund_create(user=order.vendor.owner, order_id=order.pk, amount="1000.00")
    assert refused.value.code == "refund_exceeds_payment"
    assert not CreditNote.objects.exists() and not OutboxEvent.objects.filter(type="credit_note.issued").exists()
