"""Output serializers of the invoices API."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import TimestampField


class DocumentLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["item", "shipping", "goods"],
                                   help_text="item: an order line (or a returned one); shipping: the fee; goods: a "
                                   "refund of goods at one rate")
    description = serializers.CharField()
    sku = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(allow_null=True, help_text="As the store lists prices")
    tax_class = serializers.CharField(allow_blank=True)
    tax_rate = serializers.CharField(help_text="Percent, \"19.00\"")
    net = serializers.CharField()
    tax = serializers.CharField()
    gross = serializers.CharField()
    order_line_id = serializers.IntegerField(allow_null=True)


class RateTotalSerializer(serializers.Serializer):
    rate = serializers.CharField(help_text="Percent")
    net = serializers.CharField()
    tax = serializers.CharField()
    gross = serializers.CharField()


class _DocumentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    vendor_id = serializers.UUIDField()
    issued_at = TimestampField()
    currency = serializers.CharField()
    seller = serializers.JSONField(help_text="Copy at issue: vendor_id, name")
    buyer = serializers.JSONField(help_text="Copy at issue: the billing address and e-mail")
    lines = DocumentLineSerializer(many=True)
    rates = RateTotalSerializer(many=True, help_text="Totals per tax rate, highest first")
    net_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    gross_total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="net_total + tax_total")
    pdf_url = serializers.SerializerMethodField()


class CreditNoteOutputSerializer(_DocumentSerializer):
    """A credit note: what a refund gave back, referencing the invoice."""

    invoice_id = serializers.UUIDField()
    refund_id = serializers.UUIDField()
    reason = serializers.CharField(allow_blank=True)

    @extend_schema_field(serializers.CharField())
    def get_pdf_url(self, note) -> str:
        return reverse("credit-note-pdf", kwargs={"credit_note_id": note.pk})


class InvoiceOutputSerializer(_DocumentSerializer):
    """An invoice of a paid order, with the numbers of its credit notes."""

    order_id = serializers.UUIDField()
    credit_note_ids = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_pdf_url(self, invoice) -> str:
        return reverse("invoice-pdf", kwargs={"invoice_id": invoice.pk})

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_credit_note_ids(self, invoice) -> list[str]:
        return [str(n.pk) for n in sorted(invoice.credit_notes.all(), key=lambda n: n.sequence)]


class OrderDocumentsOutputSerializer(serializers.Serializer):
    invoice = InvoiceOutputSerializer(allow_null=True, help_text="Null until the order is paid")
    credit_notes = CreditNoteOutputSerializer(many=True)
