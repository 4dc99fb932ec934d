"""The escrow's event type (``realtime.events``): buyer protection, on the buyer's ``user:``
topic and the store's ``vendor:`` desk."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from realtime.events import Currency, Event, EventSchema, Money, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.orders.events import OrderSummary
from commerce.orders.models import Order
from commerce.orders.selectors import order_summary
from commerce.payments.models import Refund
from commerce.stores.events import VENDOR_TOPIC
from commerce.wallet.models import EscrowReleaseReason, EscrowStatus

#: why an ``escrow.updated`` was sent
EscrowChange = Literal["held", "protection_started", "frozen", "unfrozen", "released", "refunded"]


class EscrowUpdated(EventSchema):
    """An order's escrow (the money held for the store) changed: the payment is held (the order
    was paid), the buyer-protection window started (proven delivery), a dispute froze or unfroze
    it, it was released to the store or refunded. The escrow as the order's REST body shows it,
    plus ``reason``."""

    type: ClassVar[str] = "escrow.updated"
    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    order_id: UUID
    order_number: str
    status: one_of(EscrowStatus.values)
    amount: Money = Field(description="what is (or was, once released) held")
    currency: Currency
    commission: Money
    release_after: Timestamp | None = Field(description="end of the buyer-protection window; null before proven delivery")
    released_at: Timestamp | None
    release_reason: one_of(EscrowReleaseReason.values) | None
    frozen: bool = Field(description="a dispute of the order is open (dispute_id)")
    dispute_id: UUID | None
    reason: EscrowChange

    @classmethod
    def build(cls, *, escrow_data: dict[str, Any], reason: str) -> Event:
        """From the escrow payload (``commerce.payments.escrow.escrow_data``, also in the REST
        order body) and why it is sent."""
        return cls.event({**escrow_data, "reason": reason})


class RefundData(Payload):
    id: UUID
    amount: Money
    currency: Currency
    reason: str
    created_at: Timestamp


class OrderRefunded(EventSchema):
    """Money of an order went back to its buyer (a partial or full refund by the store or staff,
    a dispute's resolution, a cancellation): the order after it and ``refunded_total``, the sum
    refunded so far. A full refund is followed by the order's move to ``refunded``."""

    type: ClassVar[str] = "order.refunded"
    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    order: OrderSummary
    refund: RefundData
    refunded_total: Money

    @classmethod
    def build(cls, *, order: Order, refund: Refund) -> Event:
        return cls.event({
            "order": order_summary(order),
            "refund": {"id": refund.pk, "amount": f"{refund.amount:.2f}", "currency": order.currency,
                       "reason": refund.reason, "created_at": refund.created_at},
            "refunded_total": f"{order.refunded_total:.2f}",
        })
