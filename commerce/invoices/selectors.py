"""Reads of the invoices room: the documents a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from core.exceptions import NotFound
from core.utils import parse_uuid

from commerce.invoices.models import CreditNote, Invoice
from commerce.invoices.permissions import can_view_tax_document, tax_documents_q
from commerce.orders.selectors import order_get_visible


def invoices_visible(*, user) -> QuerySet[Invoice]:
    """The invoices ``user`` may see (as buyer, store staff or marketplace admin), newest first."""
    return (Invoice.objects.filter(tax_documents_q(user)).select_related("order")
            .prefetch_related("credit_notes").order_by("-issued_at", "-sequence"))


def invoice_get_visible(*, user, invoice_id: Any) -> Invoice:
    """The invoice if ``user`` may see it. Raises ``NotFound`` ``invoice_not_found`` (also for a
    malformed id: no hint it exists)."""
    iid = parse_uuid(invoice_id)
    invoice = (Invoice.objects.select_related("order", "order__vendor").prefetch_related("credit_notes")
               .filter(pk=iid).first() if iid else None)
    if invoice is None or not can_view_tax_document(user, invoice):
        raise NotFound("Invoice not found.", code="invoice_not_found")
    return invoice


def credit_note_get_visible(*, user, credit_note_id: Any) -> CreditNote:
    """The credit note if ``user`` may see it. Raises ``NotFound`` ``credit_note_not_found``."""
    cid = parse_uuid(credit_note_id)
    note = (CreditNote.objects.select_related("invoice__order__vendor").filter(pk=cid).first() if cid else None)
    if note is None or not can_view_tax_document(user, note):
        raise NotFound("Credit note not found.", code="credit_note_not_found")
    return note


def order_documents(*, user, order_id: Any) -> dict[str, Any]:
    """The invoice (or None) and credit notes of order ``order_id`` if ``user`` may see the
    order. Raises ``NotFound`` ``order_not_found``."""
    order = order_get_visible(user=user, order_id=order_id)
    invoice = Invoice.objects.filter(order=order).prefetch_related("credit_notes").first()
    return {"invoice": invoice, "credit_notes": list(invoice.credit_notes.order_by("sequence")) if invoice else []}


def document_summary(document: Invoice | CreditNote) -> dict[str, Any]:
    """An issued invoice or credit note, short (the ``invoice.issued`` / ``credit_note.issued``
    events; ``commerce.invoices.events.DocumentSummary``)::

        {"id", "number", "vendor_id", "order_id", "order_number", "currency", "net_total",
         "tax_total", "gross_total", "issued_at", "pdf_url"}

    Uses ``invoice.order`` (an invoice) or ``invoice.order`` of the credit note's invoice."""
    is_credit = isinstance(document, CreditNote)
    order = document.invoice.order if is_credit else document.order
    pdf_url = (reverse("credit-note-pdf", kwargs={"credit_note_id": document.pk}) if is_credit
               else reverse("invoice-pdf", kwargs={"invoice_id": document.pk}))
    return {"id": document.pk, "number": document.number, "vendor_id": document.vendor_id, "order_id": order.pk,
            "order_number": order.number, "currency": document.currency, "net_total": f"{document.net_total:.2f}",
            "tax_total": f"{document.tax_total:.2f}", "gross_total": f"{document.gross_total:.2f}",
            "issued_at": document.issued_at, "pdf_url": pdf_url}
