"""The ``cart:<user_id>`` topic kind and its event type (``realtime.events``).

``cart.updated`` carries the whole cart (the REST body and the topic snapshot are the same dict,
``commerce.cart.selectors.cart_data``), so a client replaces its copy with the event's data when
``version`` is newer.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Currency, Event, EventSchema, Money, Payload, Timestamp, TopicKind, Topics, one_of

from commerce.cart.models import MAX_LINE_QUANTITY
from commerce.shipping.models import ShippingRule

#: ``cart:<user_id>``: a signed-in user's cart, live across their devices (owner only)
CART_TOPIC = TopicKind("cart", key="the owner's user id", description="a signed-in user's cart, live across devices")


class CartProduct(Payload):
    id: UUID
    name: str
    sku: str
    slug: str
    vendor_id: UUID
    image: str | None = Field(description="URL of the first image")


class CartLine(Payload):
    id: UUID
    product: CartProduct
    unit_price: Money = Field(description="the product's price now")
    currency: Currency
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)
    line_total: Money
    available_stock: Count = Field(description="units on sale now, plus those the buyer's checkout holds")
    in_stock: bool = Field(description="the line can be bought as it is")
    available: bool = Field(description="false when the product or its store is no longer on sale")


class CartReservation(Payload):
    checkout_id: UUID
    expires_at: Timestamp
    total: Money
    currency: Currency
    order_ids: list[UUID]


class CartShippingAddress(Payload):
    id: UUID
    country: str
    postal_code: str
    region: str
    city: str


class CartShippingMethod(Payload):
    """A shipping method offered for the store's part of the cart, with its price now."""

    id: UUID
    name: str
    description: str
    rule: one_of(ShippingRule.values)
    price: Money
    currency: Currency
    free_above: Money | None
    min_days: int | None
    max_days: int | None


class CartShippingStore(Payload):
    vendor_id: UUID
    vendor_name: str
    prices_include_tax: bool
    basket_value: Money
    currency: Currency
    methods: list[CartShippingMethod] = Field(description="cheapest first; checkout takes one id per store")


class CartShipping(Payload):
    """Each store's shipping offer for the buyer's default shipping address (none without one)."""

    address: CartShippingAddress | None
    stores: list[CartShippingStore]


class CartUpdated(EventSchema):
    """The cart after a change (lines added, changed, removed, cleared, merged at sign-in, or a
    price, stock or availability change of a product it holds): the same body as ``GET
    /api/v1/cart/`` and the snapshot. ``version`` grows by one per change."""

    type: ClassVar[str] = "cart.updated"
    topics: ClassVar[Topics] = (CART_TOPIC,)

    id: UUID
    lines: list[CartLine]
    total: Money
    currency: Currency
    item_count: Count
    version: Count
    updated_at: Timestamp
    reservation: CartReservation | None = Field(description="the buyer's active checkout holding stock, else null")
    shipping: CartShipping

    @classmethod
    def build(cls, cart_data: dict[str, Any]) -> Event:
        """From the cart response (``commerce.cart.selectors.cart_data``)."""
        return cls.event(cart_data)
