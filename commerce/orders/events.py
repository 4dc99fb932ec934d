"""The order event types (``realtime.events``), on the ``vendor:<vendor_id>`` topic (a store's
live order desk; the kind is declared by ``commerce.stores.events``). ``order.status_changed``
also goes to the buyer's ``user:`` topic.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Currency, Event, EventSchema, Money, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.orders.models import Order, OrderSource, OrderStatus
from commerce.orders.selectors import order_data, order_summary
from commerce.shipping.models import ShippingRule
from commerce.stores.events import VENDOR_TOPIC
from commerce.stores.models import Vendor, VendorStatus
from commerce.tax.models import TaxClass

OrderStatusValue = one_of(OrderStatus.values)
TaxClassValue = one_of(TaxClass.values)
#: a tax rate in percent with two decimals (``"19.00"``)
Rate = Money


class OrderSummary(Payload):
    """The short order (lists, ``vendor:`` snapshot's ``open_orders``, events)."""

    id: UUID
    number: str
    status: OrderStatusValue
    buyer_id: UUID
    vendor_id: UUID
    currency: Currency
    total: Money
    created_at: Timestamp
    updated_at: Timestamp


class OrderVendor(Payload):
    id: UUID
    name: str


class OrderLineData(Payload):
    id: int
    product_id: UUID | None = Field(description="null once the product was deleted")
    product_name: str
    sku: str
    vendor_name: str
    unit_price: Money = Field(description="as the store lists it (with tax when the order's prices_include_tax)")
    quantity: int = Field(ge=1)
    line_total: Money = Field(description="unit_price x quantity")
    tax_class: TaxClassValue
    tax_rate: Rate = Field(description="percent")
    net_total: Money
    tax_amount: Money = Field(description="rounded once per line, half-up to cents")
    gross_total: Money = Field(description="net_total + tax_amount: what the buyer pays for the line")


class ShippingMethodSnapshot(Payload):
    """What the order keeps of its shipping method (``commerce.shipping.selectors.method_snapshot``)."""

    id: UUID
    name: str
    rule: one_of(ShippingRule.values)
    zone: str
    price: Money | None
    currency: Currency
    free_above: Money | None
    weight_g: int | None = Field(description="the chargeable weight a weight method priced, grams")
    distance_m: int | None = Field(description="a courier method's distance from the pickup point, metres")
    min_days: int | None
    max_days: int | None
    tax_class: TaxClassValue


class OrderShipping(Payload):
    """The shipping fee's tax line and the method's snapshot (null for auction orders)."""

    method: ShippingMethodSnapshot | None
    tax_class: TaxClassValue | one_of(("",))
    tax_rate: Rate
    net: Money
    tax: Money
    gross: Money = Field(description="= shipping_total")


class OrderAddress(Payload):
    """An address as the order keeps it (a copy taken at checkout; empty for an auction order
    without one)."""

    id: UUID | None = None
    label: str | None = None
    full_name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: str | None = None
    phone: str | None = None
    latitude: str | None = Field(default=None, description="decimal degrees (WGS 84) as a string")
    longitude: str | None = Field(default=None, description="decimal degrees (WGS 84) as a string")


class OrderData(Payload):
    """The full order (``GET /api/v1/orders/{id}/`` without the viewer's fields)."""

    id: UUID
    number: str
    checkout_id: UUID | None
    status: OrderStatusValue
    source: one_of(OrderSource.values)
    buyer_id: UUID
    vendor: OrderVendor
    currency: Currency
    subtotal: Money = Field(description="the lines' gross_total")
    shipping_total: Money
    total: Money = Field(description="subtotal + shipping_total")
    tax_total: Money = Field(description="the tax in total (lines and shipping)")
    net_total: Money = Field(description="total - tax_total")
    prices_include_tax: bool
    tax_country: str = Field(description="whose rates apply (the shipping address's country)")
    refunded_total: Money
    lines: list[OrderLineData]
    shipping: OrderShipping
    shipping_address: OrderAddress
    billing_address: OrderAddress
    reservation_expires_at: Timestamp | None
    cancel_reason: str
    paid_at: Timestamp | None
    delivered_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class OrderPlaced(EventSchema):
    """A new order, waiting for payment (``pending_payment``): placed at checkout (one per store
    of the cart) or made for an auction's winner. To the buyer's ``user:`` topic and the store's
    desk, which counts it."""

    type: ClassVar[str] = "order.placed"
    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    order: OrderSummary

    @classmethod
    def build(cls, *, order: Order) -> Event:
        return cls.event({"order": order_summary(order)})


class OrderStatusChanged(EventSchema):
    """An order moved along the pipeline (``commerce.orders.models.ORDER_TRANSITIONS``): to the
    buyer's ``user:`` topic and the store's ``vendor:`` desk. ``order`` is the summary after the
    move; ``delivery_failed`` means the courier reported a failure (the store re-dispatches or
    cancels)."""

    type: ClassVar[str] = "order.status_changed"
    topics: ClassVar[Topics] = (USER_TOPIC, VENDOR_TOPIC)

    order: OrderSummary
    from_: OrderStatusValue = Field(alias="from")
    to: OrderStatusValue
    reason: str
    changed_at: Timestamp

    @classmethod
    def build(cls, *, order: Order, from_status: str, reason: str) -> Event:
        """``order`` has just moved from ``from_status`` to its current status."""
        return cls.event({"order": order_summary(order), "from": from_status, "to": order.status,
                          "reason": reason or "", "changed_at": order.updated_at})


class OrderCreated(EventSchema):
    """A new paid order for the store (sent when the order becomes ``paid``, after the
    ``order.status_changed`` of that move): the full order."""

    type: ClassVar[str] = "order.created"
    topics: ClassVar[Topics] = (VENDOR_TOPIC,)

    order: OrderData

    @classmethod
    def build(cls, *, order: Order) -> Event:
        return cls.event({"order": order_data(order)})



class DeskVendor(Payload):
    id: UUID
    name: str
    status: one_of(VendorStatus.values)


class VendorStatusChanged(EventSchema):
    """The store moved along its life cycle (an administrator activated or suspended it): the
    desk's ``vendor`` block. A suspended store's products are off sale (its carts update)."""

    type: ClassVar[str] = "vendor.status_changed"
    topics: ClassVar[Topics] = (VENDOR_TOPIC,)

    vendor: DeskVendor
    from_: one_of(VendorStatus.values) = Field(alias="from")
    to: one_of(VendorStatus.values)

    @classmethod
    def build(cls, *, vendor: Vendor, from_status: str) -> Event:
        return cls.event({"vendor": {"id": vendor.id, "name": vendor.name, "status": vendor.status},
                          "from": from_status, "to": vendor.status})
