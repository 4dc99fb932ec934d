"""Invoices and credit notes: the tax documents of paid orders and of refunds.

Each paid order gets one :class:`Invoice`; each refund of an invoiced order one
:class:`CreditNote` referencing it. Both are numbered without gaps per store and calendar year,
each kind in its own series (``INV-2026-000001``, ``CN-2026-000001``): the next number comes
from an :class:`InvoiceCounter` row per (store, kind, year) locked ``FOR UPDATE`` in the
transaction that records the payment or the refund, so a number is used exactly when that
transaction commits (the EU VAT Directive, art. 226 (2): "a sequential number ... which
uniquely identifies the invoice").

A document is frozen when issued: seller, buyer, lines, rates and totals are copied into it
(``lines``, ``rates``), so later changes to the store, the catalogue or the rates change no
issued document. Its PDF (WeasyPrint) is rendered from those copies the first time it is asked
for and kept (``pdf``, private storage: ``INVOICE_ROOT``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q

from commerce.orders.models import Order
from commerce.payments.models import Refund
from commerce.stores.models import Vendor


class InvoiceStorage(FileSystemStorage):
    """Private storage of invoice PDFs: ``settings.INVOICE_ROOT`` (default ``<project>/.data/
    invoices``), outside ``MEDIA_ROOT`` so no static route serves them: documents go out only
    through the API, to the buyer and the store. The location is read from settings at each use."""

    @property
    def base_location(self) -> str:  # type: ignore[override]
        return str(getattr(settings, "INVOICE_ROOT", None) or Path(settings.BASE_DIR) / ".data" / "invoices")

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("invoice PDFs have no public URL; use the invoice endpoints")


def invoice_storage() -> InvoiceStorage:
    return InvoiceStorage()


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


#: the number prefix of each series
PREFIXES = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}


class InvoiceCounter(models.Model):
    """The last number issued in one series: store ``vendor``, ``kind``, calendar ``year``.
    Locked ``FOR UPDATE`` to take the next one."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "kind", "year"], name="commerce_invoicecounter_unique")]

    def __str__(self) -> str:
        return f"{self.vendor_id} {self.kind} {self.year}: {self.last_number}"


class TaxDocument(models.Model):
    """What an invoice and a credit note share: the number (``sequence`` in the store's series
    of ``year``), when it was issued, who sells and who buys (copies), the lines and the totals
    per tax rate (copies; amounts positive, a credit note's are what it gives back) and the PDF.

    ``lines``: ``[{"kind": "item"|"shipping"|"refund", "description", "sku", "quantity",
    "unit_price", "tax_class", "tax_rate", "net", "tax", "gross"}]``; ``rates``: ``[{"rate",
    "net", "tax", "gross"}]``, highest rate first (money as ``"12.50"`` strings, rates as
    ``"19.00"``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=32)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    seller = models.JSONField(default=dict)
    buyer = models.JSONField(default=dict)
    lines = models.JSONField(default=list)
    rates = models.JSONField(default=list)
    net_total = models.DecimalField(max_digits=14, decimal_places=2)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2)
    gross_total = models.DecimalField(max_digits=14, decimal_places=2)
    pdf = models.FileField(storage=invoice_storage, upload_to="%Y", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Invoice(TaxDocument):
    """The invoice of a paid ``order`` (one per order)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")

    class Meta:
        ordering = ["vendor", "-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "year", "sequence"], name="commerce_invoice_sequence_unique"),
            models.UniqueConstraint(fields=["vendor", "number"], name="commerce_invoice_number_unique"),
            models.CheckConstraint(condition=Q(net_total__gte=0) & Q(tax_total__gte=0)
                                   & Q(gross_total=models.F("net_total") + models.F("tax_total")),
                                   name="commerce_invoice_totals"),
        ]

    def __str__(self) -> str:
        return f"invoice {self.number}"


class CreditNote(TaxDocument):
    """What ``refund`` gave back of the order of ``invoice`` (one per refund), referencing the
    invoice; ``reason`` is the refund's."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="credit_note")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["vendor", "-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "year", "sequence"], name="commerce_creditnote_sequence_unique"),
            models.UniqueConstraint(fields=["vendor", "number"], name="commerce_creditnote_number_unique"),
            models.CheckConstraint(condition=Q(net_total__gte=0) & Q(tax_total__gte=0)
                                   & Q(gross_total=models.F("net_total") + models.F("tax_total")),
                                   name="commerce_creditnote_totals"),
        ]

    def __str__(self) -> str:
        return f"credit note {self.number}"
