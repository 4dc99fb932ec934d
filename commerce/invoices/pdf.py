"""PDFs of invoices and credit notes: the room's template ``templates/invoices/document.html`` rendered with
Django's template engine and turned into PDF by WeasyPrint (which needs the system libraries
Pango and HarfBuzz and a font: Debian's ``libpango-1.0-0``, ``libpangoft2-1.0-0``,
``libharfbuzz-subset0``, ``fonts-dejavu-core``; ``make test`` installs them, see
``scripts/ensure_pdf_libs.py``, and the Dockerfile does).

The document is rendered only from its own frozen fields (seller, buyer, lines, rates, totals),
never from the order or the store as they are now, the first time it is asked for
(:func:`document_pdf`), and the file is kept: later downloads get the same bytes. Imported by
the API only (WeasyPrint takes about half a second to import), never at start-up.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.template import engines
from weasyprint import HTML

from commerce.invoices.models import CreditNote, Invoice


def document_context(document: Any) -> dict[str, Any]:
    """What the template shows of an :class:`~commerce.invoices.models.Invoice` or
    :class:`~commerce.invoices.models.CreditNote`."""
    is_credit = hasattr(document, "invoice_id")
    return {
        "doc": document,
        "title": "Credit note" if is_credit else "Invoice",
        "is_credit": is_credit,
        "reference": document.invoice.number if is_credit else "",
        "order_number": (document.invoice.order.number if is_credit else document.order.number),
        "lines": document.lines,
        "rates": document.rates,
    }


#: the room's own template (not on the template search path: only this module renders it)
TEMPLATE = Path(__file__).parent / "templates" / "invoices" / "document.html"


@cache
def _template():
    return engines["django"].from_string(TEMPLATE.read_text(encoding="utf-8"))


def render_html(document: Any) -> str:
    """The document as HTML (the template ``TEMPLATE`` with :func:`document_context`)."""
    return _template().render(document_context(document))


def render_pdf(document: Any) -> bytes:
    """The document as PDF bytes (WeasyPrint; about 0.1-0.5 s)."""
    return HTML(string=render_html(document)).write_pdf()


def document_pdf(document: Invoice | CreditNote) -> bytes:
    """The PDF of an issued document: the stored file, else rendered now (WeasyPrint, from the
    document's frozen copies) and stored, under the document's row lock so two first downloads
    render it once."""
    if document.pdf:
        with document.pdf.open("rb") as f:
            return f.read()
    with transaction.atomic():
        locked = type(document).objects.select_for_update().get(pk=document.pk)
        if locked.pdf:
            with locked.pdf.open("rb") as f:
                return f.read()
        data = render_pdf(locked)
        locked.pdf.save(f"{locked.vendor_id}/{locked.number}.pdf", ContentFile(data), save=False)
        type(document).objects.filter(pk=locked.pk).update(pdf=locked.pdf.name)
        document.pdf = locked.pdf
        return data
