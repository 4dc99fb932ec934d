"""Signals of the payments room (sent inside the transaction that made the change, with the
order locked; receivers' writes commit or roll back with it, so what they number is used
exactly when the payment or refund commits).

``payment_succeeded(sender=Payment, payment, order)`` — ``order`` was just paid by ``payment``
(card, wallet or an auction hold), before the order moves to ``paid``. The invoices room issues
the order's invoice (its number taken from the store's gap-free series).

``refund_created(sender=Refund, refund, order, shipping_amount, lines)`` — ``refund`` gave
``refund.amount`` of ``order`` back, ``shipping_amount`` of it the shipping fee (``Decimal``);
``lines`` is ``[{"order_line_id", "quantity", "amount"}]`` when the caller said which goods the
rest is for (a return), else empty. The invoices room issues a credit note referencing the
order's invoice. Anything that gives money back calls ``commerce.payments.services.refund_locked``,
so every refund is announced here (store refunds, cancellations, disputes, returns).
"""

from django.dispatch import Signal

payment_succeeded = Signal()
refund_created = Signal()
