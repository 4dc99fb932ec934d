"""The invoices room's event types (``realtime.events``): a document was issued, on the buyer's
``user:`` topic and the store's ``vendor:`` desk, so both apps can offer the PDF at once.

Published in the transaction that issues the document (the payment's or the refund's), so they
go out only if it commits (``realtime.outbox.publish``).
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Currency, Event, EventSchema, Money, Payload, Timestamp, Topics
from realtime.user_topic import USER_TOPIC

from commerce.invoices.models import CreditNote, Invoice
from commerce.invoices.selectors import document_summary
from commerce.stores.events import VENDOR_TOPIC


class DocumentSummary(Payload):
    """An issued invoice or credit note, short: what a list shows and where its PDF is."""

    id: UUID
    number: str = Field(description="INV-2026-000042 / CN-2026-000007: gap-free per store, kind and year")
    vendor_id: UUID
    order_id: UUID
    order_number: str
    currency: Currency
    net_total: Money
    tax_total: Money
    gross_total: Money
    issued_at: Timestamp
    pdf_url: str


class InvoiceIssued(EventSchema):
    """A paid order's invoice was issued (with the payment)."""

    type: ClassVar[str] = "invoice.issued"
    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    invoice: DocumentSummary

    @classmethod
    def build(cls, *, invoice: Invoice) -> Event:
        return cls.event({"invoice": document_summary(invoice)})


class CreditNoteIssued(EventSchema):
    """A refund's credit note was issued (with the refund), referencing the order's invoice."""

    type: ClassVar[str] = "credit_note.issued"
    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    credit_note: DocumentSummary
    invoice_id: UUID
    invoice_number: str
    refund_id: UUID

    @classmethod
    def build(cls, *, note: CreditNote) -> Event:
        return cls.event({"credit_note": document_summary(note),
                          "invoice_id": note.invoice_id, "invoice_number": note.invoice.number,
                          "refund_id": note.refund_id})
