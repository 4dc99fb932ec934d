"""How the invoices room answers the payments room below it.

* ``payment_succeeded`` — issue the paid order's invoice (:func:`commerce.invoices.services.invoice_issue`).
* ``refund_created`` — issue the refund's credit note (:func:`commerce.invoices.services.credit_note_issue`).

Both run in the sender's transaction, so a number is taken exactly when the payment or refund
commits.
"""

from __future__ import annotations

from typing import Any

from commerce.invoices.services import credit_note_issue, invoice_issue
from commerce.payments.signals import payment_succeeded, refund_created


def issue_invoice_when_paid(sender: Any = None, *, order, **kwargs: Any) -> None:
    """Receiver of ``payment_succeeded``."""
    invoice_issue(order=order)


def issue_credit_note_when_refunded(sender: Any = None, *, refund, order, shipping_amount, lines=(),
                                    **kwargs: Any) -> None:
    """Receiver of ``refund_created``."""
    credit_note_issue(refund=refund, order=order, shipping_amount=shipping_amount, lines=list(lines or []))


def connect() -> None:
    """Connect the receivers (``CommerceConfig.ready``)."""
    payment_succeeded.connect(issue_invoice_when_paid, dispatch_uid="commerce.invoices.invoice")
    refund_created.connect(issue_credit_note_when_refunded, dispatch_uid="commerce.invoices.credit_note")
