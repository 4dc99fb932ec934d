"""The return (RMA) event types (``realtime.events``), to the buyer's ``user:`` topic and the
store's ``vendor:`` desk. Each carries the return as both sides see it
(``commerce.returns.selectors.return_data``)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Currency, Event, EventSchema, Money, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.common.photos import PhotoData
from commerce.orders.events import VENDOR_TOPIC, OrderStatusValue, OrderVendor
from commerce.returns.models import RefundSource, ReturnGrade, ReturnReason, ReturnRequest, ReturnStatus, ReturnTransport
from commerce.returns.selectors import return_data

ReturnStatusValue = one_of(ReturnStatus.values)

#: what a ``return.updated`` says changed (no status move)
RETURN_CHANGES = ("courier_requested", "transport_reset", "courier_failed", "refund_failed", "escalated")


class ReturnOrder(Payload):
    id: UUID
    number: str
    status: OrderStatusValue
    currency: Currency
    total: Money
    shipping_total: Money
    refunded_total: Money
    delivered_at: Timestamp | None
    buyer_id: UUID
    vendor: OrderVendor


class ReturnLineData(Payload):
    id: int
    order_line_id: int
    product_id: UUID | None = Field(description="null once the product was deleted")
    product_name: str
    sku: str
    unit_price: Money
    quantity: int = Field(ge=1)
    grade: one_of(ReturnGrade.values) | None = Field(description="set at the inspection")
    restocked_quantity: int = Field(ge=0)
    paid_amount: Money | None = Field(description="what the buyer paid for these units; set at the refund")
    restocking_fee: Money
    refund_amount: Money


class ReturnDecision(Payload):
    note: str
    decided_at: Timestamp


class ReturnInspection(Payload):
    note: str
    inspected_at: Timestamp


class ReturnRefund(Payload):
    amount: Money
    shipping: Money
    restocking_fee_percent: str = Field(pattern=r"^[0-9]+\.[0-9]{2}$")
    restocking_fee: Money
    source: one_of(RefundSource.values) | None = Field(description="escrow, or store_wallet once the escrow was released")
    note: str
    refunded_at: Timestamp


class ReturnEscalation(Payload):
    dispute_id: UUID
    status: str = Field(description="the dispute's status")
    refund_amount: Money
    escalated_at: Timestamp


class ReturnData(Payload):
    """The return (``GET /api/v1/returns/{id}/`` without the viewer's fields)."""

    id: UUID
    number: str
    status: ReturnStatusValue
    reason: one_of(ReturnReason.values)
    description: str
    order: ReturnOrder
    lines: list[ReturnLineData]
    photos: list[PhotoData] = Field(max_length=5)
    window_ends_at: Timestamp
    decision: ReturnDecision | None
    transport: one_of(ReturnTransport.values) | None
    carrier: str
    tracking_number: str
    pickup_delivery_id: UUID | None
    shipped_at: Timestamp | None
    received_at: Timestamp | None
    inspection: ReturnInspection | None
    refund: ReturnRefund | None
    refund_error: str | None = Field(description="the code of the last refused refund, e.g. insufficient_funds")
    escalation: ReturnEscalation | None
    created_at: Timestamp
    updated_at: Timestamp


class ReturnEvent(EventSchema):
    """Shared shape: ``{"return"}``."""

    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    return_: ReturnData = Field(alias="return")

    @classmethod
    def build(cls, *, rma: ReturnRequest) -> Event:
        return cls.event({"return": return_data(rma)})


class ReturnRequested(ReturnEvent):
    """A buyer asked to return lines of a delivered order (status ``requested``)."""

    type: ClassVar[str] = "return.requested"


class ReturnStatusChanged(ReturnEvent):
    """The return moved along its map (approved, rejected, in transit, received, inspected,
    refunded, partially refunded, rejected after inspection, cancelled)."""

    type: ClassVar[str] = "return.status_changed"

    from_: ReturnStatusValue = Field(alias="from")
    to: ReturnStatusValue
    reason: str

    @classmethod
    def build(cls, *, rma: ReturnRequest, previous: str, reason: str = "") -> Event:  # type: ignore[override]
        return cls.event({"return": return_data(rma), "from": previous, "to": rma.status, "reason": reason or ""})


class ReturnUpdated(ReturnEvent):
    """Something about the return changed without a move: ``courier_requested`` (a return
    delivery was created), ``transport_reset`` (the courier pickup was cancelled or failed
    before pickup: choose the transport again), ``courier_failed``, ``refund_failed`` (see
    ``refund_error``), ``escalated`` (a dispute was opened, see ``escalation``)."""

    type: ClassVar[str] = "return.updated"

    change: one_of(RETURN_CHANGES)

    @classmethod
    def build(cls, *, rma: ReturnRequest, change: str) -> Event:  # type: ignore[override]
        return cls.event({"return": return_data(rma), "change": change})
