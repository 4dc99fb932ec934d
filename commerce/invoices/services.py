"""Writes of the invoices room: issuing invoices and credit notes, and keeping their PDFs.

* :func:`invoice_issue` — the invoice of an order that was just paid (``payment_succeeded``,
  in the payment's transaction): the next number of the store's invoice series of the year,
  the order's lines and shipping fee with their tax lines, totals per rate.
* :func:`credit_note_issue` — the credit note of a refund of an invoiced order
  (``refund_created``, in the refund's transaction), in the store's credit-note series,
  referencing the invoice. What it credits (all amounts tax included, as refunds are):

  - a refund that completes the order's refunds reverses exactly what the invoice charged and
    the earlier credit notes did not credit, per rate (so the invoice and its credit notes add
    up to zero, to the cent);
  - otherwise the refund's shipping part is credited at the shipping fee's rate; goods named
    by the refund (``lines``: a return) at their lines' rates; the rest of the goods part is
    spread over the invoice's goods rates in proportion to what is left of each
    (``commerce.tax.calculation.split_amount``); the tax in each part is rounded half-up.

Each issue publishes ``invoice.issued`` / ``credit_note.issued`` (:mod:`commerce.invoices.events`)
to the buyer's ``user:`` topic and the store's ``vendor:`` desk, in the same transaction (sent
after commit).

The PDFs are :mod:`commerce.invoices.pdf` (imported by the API only, so processes that never
serve a PDF never load WeasyPrint).

**Numbers without gaps.** :func:`next_number` locks the (store, kind, year) counter row ``FOR
UPDATE`` and increments it in the caller's transaction: a payment or refund that rolls back
gives its number back, two that commit never share one, and the numbers of a series are 1, 2,
3 ... in the order their transactions took the counter. Lock order: the counter is the last row
a payment or refund locks (after the order, its payment and escrow, wallets and carts), and
nothing else locks one.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone

from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from commerce.invoices.events import CreditNoteIssued, InvoiceIssued
from commerce.invoices.models import PREFIXES, CreditNote, DocumentKind, Invoice, InvoiceCounter
from commerce.stores.events import VENDOR_TOPIC
from commerce.orders.models import Order
from commerce.payments.models import Refund
from commerce.tax.calculation import Taxed, split_amount, tax_included_in, totals_by_rate

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


def next_number(*, vendor_id: uuid.UUID, kind: str, year: int) -> int:
    """The next number of store ``vendor_id``'s ``kind`` series in ``year``, taken under the
    counter row's lock (held until the caller's transaction ends; module docstring). Two
    queries once the year's counter exists, three for the year's first document."""
    counters = InvoiceCounter.objects.select_for_update()
    counter = counters.filter(vendor_id=vendor_id, kind=kind, year=year).first()
    if counter is None:
        InvoiceCounter.objects.bulk_create([InvoiceCounter(vendor_id=vendor_id, kind=kind, year=year)],
                                           ignore_conflicts=True)
        counter = counters.get(vendor_id=vendor_id, kind=kind, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def document_number(kind: str, year: int, sequence: int) -> str:
    """``INV-2026-000042`` / ``CN-2026-000007``."""
    return f"{PREFIXES[kind]}-{year}-{sequence:06d}"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _line(*, kind: str, description: str, quantity: int, unit_price: Decimal | None, tax_class: str, taxed: Taxed,
          sku: str = "", order_line_id: int | None = None) -> dict[str, Any]:
    return {"kind": kind, "description": description, "sku": sku, "quantity": quantity,
            "unit_price": _money(unit_price) if unit_price is not None else None, "tax_class": tax_class,
            "tax_rate": _money(taxed.rate), "net": _money(taxed.net), "tax": _money(taxed.tax),
            "gross": _money(taxed.gross), "order_line_id": order_line_id}


def _taxed(line: dict[str, Any]) -> Taxed:
    return Taxed(net=Decimal(line["net"]), tax=Decimal(line["tax"]), gross=Decimal(line["gross"]),
                 rate=Decimal(line["tax_rate"]))


def _rates(lines: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"rate": _money(r.rate), "net": _money(r.net), "tax": _money(r.tax), "gross": _money(r.gross)}
            for r in totals_by_rate(_taxed(line) for line in lines)]


def seller_of(order: Order) -> dict[str, Any]:
    """Who sells, as the document shows it: ``{"vendor_id", "name"}``."""
    return {"vendor_id": str(order.vendor_id), "name": order.vendor.name}


def buyer_of(order: Order) -> dict[str, Any]:
    """Who buys: the order's billing address (its snapshot) and the buyer's e-mail."""
    address = order.billing_address or order.shipping_address or {}
    keys = ("full_name", "line1", "line2", "postal_code", "city", "region", "country")
    return {"user_id": str(order.buyer_id), "email": order.buyer.email, **{k: address.get(k, "") for k in keys}}


def _issue_fields(*, order: Order, kind: str, at) -> dict[str, Any]:
    year = timezone.localtime(at).year
    sequence = next_number(vendor_id=order.vendor_id, kind=kind, year=year)
    return {"vendor_id": order.vendor_id, "year": year, "sequence": sequence,
            "number": document_number(kind, year, sequence), "issued_at": at, "currency": order.currency,
            "seller": seller_of(order), "buyer": buyer_of(order)}


def invoice_lines(order: Order) -> list[dict[str, Any]]:
    """The invoice lines of ``order``: each order line (its tax line) and the shipping fee."""
    lines = [
        _line(kind="item", description=ol.product_name, sku=ol.sku, quantity=ol.quantity, unit_price=ol.unit_price,
              tax_class=ol.tax_class, order_line_id=ol.pk,
              taxed=Taxed(net=ol.net_total, tax=ol.tax_amount, gross=ol.gross_total, rate=ol.tax_rate))
        for ol in order.lines.all()
    ]
    if order.shipping_total > 0 or order.shipping_method_data:
        name = (order.shipping_method_data or {}).get("name") or "Shipping"
        lines.append(_line(kind="shipping", description=f"Shipping: {name}", quantity=1, unit_price=None,
                           tax_class=order.shipping_tax_class,
                           taxed=Taxed(net=order.shipping_net, tax=order.shipping_tax, gross=order.shipping_total,
                                       rate=order.shipping_tax_rate)))
    return lines


def invoice_issue(*, order: Order) -> Invoice:
    """Issue the invoice of a locked order that was just paid (idempotent: an order's invoice is
    returned as it is). Dated ``order.paid_at``; numbered in the store's series of that year
    (``TIME_ZONE``). Call in the payment's transaction (module docstring)."""
    existing = Invoice.objects.filter(order=order).first()
    if existing is not None:
        return existing
    lines = invoice_lines(order)
    net = sum((Decimal(line["net"]) for line in lines), ZERO)
    invoice = Invoice.objects.create(
        order=order, **_issue_fields(order=order, kind=DocumentKind.INVOICE, at=order.paid_at or timezone.now()),
        lines=lines, rates=_rates(lines), net_total=net, tax_total=order.tax_total, gross_total=net + order.tax_total,
    )
    _announce(order, InvoiceIssued.build(invoice=invoice))
    return invoice


def _announce(order: Order, event) -> None:
    """``event`` to the buyer's ``user:`` topic and the store's ``vendor:`` desk (after commit)."""
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=event)


# --- credit notes ----------------------------------------------------------------------------


def _group(line: dict[str, Any]) -> tuple[str, str]:
    """The (kind, rate) a document line counts in: ``shipping`` or ``goods``, and its rate."""
    return ("shipping" if line["kind"] == "shipping" else "goods", line["tax_rate"])


def _left_per_group(invoice: Invoice) -> dict[tuple[str, str], list[Decimal]]:
    """``{(kind, rate): [gross, tax]}`` the invoice charged less what its credit notes credited."""
    left: dict[tuple[str, str], list[Decimal]] = {}
    for line in invoice.lines:
        g = left.setdefault(_group(line), [ZERO, ZERO])
        g[0] += Decimal(line["gross"])
        g[1] += Decimal(line["tax"])
    for note in invoice.credit_notes.all():
        for line in note.lines:
            g = left.setdefault(_group(line), [ZERO, ZERO])
            g[0] -= Decimal(line["gross"])
            g[1] -= Decimal(line["tax"])
    return left


def _spread(amount: Decimal, groups: dict[tuple[str, str], list[Decimal]], kind: str) -> list[dict[str, Any]]:
    """``amount`` (tax included) over the ``kind`` groups in proportion to what is left of each."""
    keys = [k for k in sorted(groups, key=lambda k: Decimal(k[1]), reverse=True) if k[0] == kind]
    if amount <= 0 or not keys:
        return []
    weights = [max(groups[k][0], ZERO) for k in keys]
    if sum(weights) <= 0:
        weights = [Decimal(1)] * len(keys)
    out = []
    for key, part in zip(keys, split_amount(amount, weights)):
        if part > 0:
            taxed = tax_included_in(part, Decimal(key[1]))
            what = "Shipping fee refunded" if kind == "shipping" else f"Goods refunded ({key[1]} % rate)"
            out.append(_line(kind=kind, description=what, quantity=1, unit_price=None, tax_class="", taxed=taxed))
    return out


def credit_note_lines(*, invoice: Invoice, order: Order, refund: Refund, shipping_amount: Decimal,
                      lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a credit note for ``refund`` credits (the rules: module docstring)."""
    left = _left_per_group(invoice)
    if order.refunded_total >= order.total:  # the last refund: reverse exactly what is left
        out = []
        for (kind, rate), (gross, tax) in sorted(left.items(), key=lambda kv: (kv[0][0], -Decimal(kv[0][1]))):
            if gross != 0 or tax != 0:
                what = "Shipping fee refunded" if kind == "shipping" else f"Goods refunded ({rate} % rate)"
                out.append(_line(kind=kind, description=what, quantity=1, unit_price=None, tax_class="",
                                 taxed=Taxed(net=gross - tax, tax=tax, gross=gross, rate=Decimal(rate))))
        return out
    by_order_line = {line["order_line_id"]: line for line in invoice.lines if line.get("order_line_id")}
    goods = refund.amount - shipping_amount
    itemized = []
    for item in lines:
        source = by_order_line.get(item.get("order_line_id"))
        amount = Decimal(str(item.get("amount") or "0")).quantize(Decimal("0.01"))
        if source is None or amount <= 0:
            continue
        itemized.append(_line(kind="item", description=f"Returned: {source['description']}", sku=source["sku"],
                              quantity=int(item.get("quantity") or 1), unit_price=None, tax_class=source["tax_class"],
                              order_line_id=source["order_line_id"],
                              taxed=tax_included_in(amount, Decimal(source["tax_rate"]))))
    named = sum((Decimal(line["gross"]) for line in itemized), ZERO)
    if named > goods:
        logger.warning("refund %s names %s of goods but its goods part is %s; credited by rate instead",
                       refund.pk, named, goods)
        itemized, named = [], ZERO
    return itemized + _spread(goods - named, left, "goods") + _spread(shipping_amount, left, "shipping")


def credit_note_issue(*, refund: Refund, order: Order, shipping_amount: Decimal,
                      lines: list[dict[str, Any]] | None = None) -> CreditNote | None:
    """Issue the credit note of ``refund`` of a locked order (idempotent per refund), in the
    refund's transaction. None when the order has no invoice (paid before invoices existed)."""
    invoice = Invoice.objects.select_for_update().filter(order=order).first()
    if invoice is None:
        logger.info("refund %s of order %s: no invoice, so no credit note", refund.pk, order.number)
        return None
    existing = CreditNote.objects.filter(refund=refund).first()
    if existing is not None:
        return existing
    credit = credit_note_lines(invoice=invoice, order=order, refund=refund, shipping_amount=shipping_amount,
                               lines=list(lines or []))
    net = sum((Decimal(line["net"]) for line in credit), ZERO)
    tax = sum((Decimal(line["tax"]) for line in credit), ZERO)
    note = CreditNote.objects.create(
        invoice=invoice, refund=refund, reason=refund.reason,
        **_issue_fields(order=order, kind=DocumentKind.CREDIT_NOTE, at=refund.created_at or timezone.now()),
        lines=credit, rates=_rates(credit), net_total=net, tax_total=tax, gross_total=net + tax,
    )
    _announce(order, CreditNoteIssued.build(note=note))
    return note
