"""The payouts room's event types (``realtime.events``), on the ``user:`` topics of the store's
owners (who alone manage its payouts): bank details and withdrawals as the REST API shows them
to owners (IBAN masked)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Currency, Event, EventSchema, Money, Payload, Timestamp, Topics, one_of
from realtime.user_topic import USER_TOPIC

from commerce.payouts.models import BankDetailsStatus, PayoutAccount, Withdrawal, WithdrawalStatus
from commerce.payouts.selectors import payout_account_data, withdrawal_data


class PayoutStore(Payload):
    id: UUID
    name: str


class PayoutAccountData(Payload):
    """A store's bank details with their verification, its withdrawal minimum and the money
    available to withdraw now."""

    vendor: PayoutStore
    holder_name: str
    iban: str = Field(description="masked: DE89 **** **** **** **30 00")
    bic: str
    status: one_of(BankDetailsStatus.values)
    status_reason: str
    status_changed_at: Timestamp | None
    minimum_amount: Money
    currency: Currency
    available: Money = Field(description="the account holder's wallet: balance less holds")
    created_at: Timestamp
    updated_at: Timestamp


class PayoutAccountUpdated(EventSchema):
    """The store's bank details changed (then ``unverified``), were verified or rejected by
    marketplace staff, or its withdrawal minimum changed."""

    type: ClassVar[str] = "payout_account.updated"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    account: PayoutAccountData

    @classmethod
    def build(cls, *, account: PayoutAccount) -> Event:
        return cls.event({"account": payout_account_data(account, full_iban=False)})


class WithdrawalData(Payload):
    """A withdrawal with the bank details it goes to (copied when it was requested)."""

    id: UUID
    vendor: PayoutStore
    amount: Money
    currency: Currency
    status: one_of(WithdrawalStatus.values)
    holder_name: str
    iban: str = Field(description="masked")
    bic: str
    bank_reference: str = Field(description="the bank transfer's reference, once paid")
    reason: str = Field(description="why it was rejected or cancelled")
    requested_by_id: UUID
    approved_at: Timestamp | None
    paid_at: Timestamp | None
    rejected_at: Timestamp | None
    cancelled_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class WithdrawalUpdated(EventSchema):
    """A withdrawal was requested (its amount is held in the wallet), approved, paid (the hold
    became a ``withdrawal`` debit), rejected or cancelled (the hold was released)."""

    type: ClassVar[str] = "withdrawal.updated"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    withdrawal: WithdrawalData

    @classmethod
    def build(cls, *, withdrawal: Withdrawal) -> Event:
        return cls.event({"withdrawal": withdrawal_data(withdrawal, full_iban=False)})
