"""Routes of the invoices room (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.invoices import api

urlpatterns = [
    path("invoices/", api.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<uuid:invoice_id>/", api.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<uuid:invoice_id>/pdf/", api.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("credit-notes/<uuid:credit_note_id>/", api.CreditNoteDetailApi.as_view(), name="credit-note-detail"),
    path("credit-notes/<uuid:credit_note_id>/pdf/", api.CreditNotePdfApi.as_view(), name="credit-note-pdf"),
    path("orders/<uuid:order_id>/invoices/", api.OrderDocumentsApi.as_view(), name="order-documents"),
]
