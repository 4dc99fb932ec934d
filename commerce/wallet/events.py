"""The wallet's event type (``realtime.events``), on the owner's ``user:`` topic."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Currency, Event, EventSchema, Money, Timestamp, Topics
from realtime.user_topic import USER_TOPIC



class WalletUpdated(EventSchema):
    """A wallet's balance or held amount changed (a top-up, a payment, a refund, a payout, an
    auction hold): the wallet as ``GET /api/v1/wallet/`` shows it. ``version`` grows by one per
    change."""

    type: ClassVar[str] = "wallet.updated"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    id: UUID
    currency: Currency
    balance: Money
    held_balance: Money = Field(description="held for auction bids and pending payments")
    available: Money = Field(description="balance - held_balance")
    version: Count
    updated_at: Timestamp

    @classmethod
    def build(cls, wallet_data: dict) -> Event:
        """From the wallet summary (``commerce.wallet.services.wallet_data``, also the REST body)."""
        return cls.event(wallet_data)
