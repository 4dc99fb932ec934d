"""The dispute event types (``realtime.events``), to the buyer's ``user:`` topic and the
store's ``vendor:`` desk. Each carries the dispute as its parties see it
(``commerce.disputes.selectors.dispute_data`` without the staff-only fields)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Currency, Event, EventSchema, Money, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.disputes import models
from commerce.disputes.models import Dispute, DisputeReason, DisputeRole, DisputeStatus
from commerce.disputes.selectors import dispute_data, statement_data
from commerce.orders.events import OrderStatusValue, OrderVendor
from commerce.stores.events import VENDOR_TOPIC


class DisputeOrder(Payload):
    id: UUID
    number: str
    status: OrderStatusValue
    currency: Currency
    total: Money
    refunded_total: Money
    buyer_id: UUID
    vendor: OrderVendor


class DisputeResolution(Payload):
    refund_amount: Money
    released_amount: Money
    note: str
    resolved_at: Timestamp


class DisputeData(Payload):
    id: UUID
    order: DisputeOrder
    source: str = Field(description="who opened it: buyer")
    reason: one_of(DisputeReason.values)
    description: str
    claimed_amount: Money
    currency: Currency
    status: one_of(DisputeStatus.values)
    store_responded_at: Timestamp | None
    resolution: DisputeResolution | None
    withdrawn_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class StatementData(Payload):
    id: int
    role: one_of(DisputeRole.values)
    author_name: str = Field(description='"Marketplace staff" for staff')
    text: str
    created_at: Timestamp


class DisputeEvent(EventSchema):
    """Shared shape: ``{"dispute"}``."""

    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    dispute: DisputeData

    @classmethod
    def build(cls, *, dispute: Dispute) -> Event:
        return cls.event({"dispute": dispute_data(dispute)})


class DisputeOpened(DisputeEvent):
    """A buyer disputed a delivered order (its escrow is frozen until staff decide)."""

    type: ClassVar[str] = "dispute.opened"


class DisputeResolved(DisputeEvent):
    """Staff decided the dispute: status ``resolved_release``, ``resolved_partial_refund`` or
    ``resolved_refund``, with ``resolution``."""

    type: ClassVar[str] = "dispute.resolved"


class DisputeWithdrawn(DisputeEvent):
    """The buyer withdrew the dispute: status ``withdrawn`` with ``withdrawn_at``."""

    type: ClassVar[str] = "dispute.withdrawn"


class DisputeStatement(DisputeEvent):
    """A party (buyer, store or staff) added a statement to an open dispute."""

    type: ClassVar[str] = "dispute.statement"

    statement: StatementData

    @classmethod
    def build(cls, *, dispute: Dispute, statement: models.DisputeStatement) -> Event:  # type: ignore[override]
        return cls.event({"dispute": dispute_data(dispute), "statement": statement_data(statement, staff_viewer=False)})
