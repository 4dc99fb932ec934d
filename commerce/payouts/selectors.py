"""Reads of the payouts room: a store's payout account, its withdrawals, the staff queues, and
the bodies events carry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from core.exceptions import Forbidden, NotFound
from core.permissions import is_marketplace_admin
from core.utils import parse_uuid

from commerce.payouts.models import BankDetailsStatus, PayoutAccount, Withdrawal, WithdrawalStatus
from commerce.payouts.permissions import can_see_payout_queue, can_view_payouts
from commerce.payouts.serializers import PayoutAccountOutputSerializer, WithdrawalOutputSerializer
from commerce.stores.models import Vendor
from commerce.stores.selectors import vendor_get
from commerce.wallet.models import Wallet


def _payout_vendor(*, user, vendor_id: Any) -> Vendor:
    vendor = vendor_get(user=user, vendor_id=vendor_id)
    if not can_view_payouts(user, vendor):
        raise Forbidden("Only the store's owners manage its payouts.", code="forbidden")
    return vendor


def available_balance(*, vendor: Vendor, currency: str) -> Decimal:
    """What the store could withdraw now: the account holder's ``currency`` wallet, balance less
    holds (``0.00`` without a wallet). No lock."""
    wallet = Wallet.objects.filter(user_id=vendor.owner_id, currency=currency).first()
    return wallet.available if wallet is not None else Decimal("0.00")


def payout_account_data(account: PayoutAccount, *, full_iban: bool) -> dict[str, Any]:
    """The body of a payout account (``PayoutAccountOutputSerializer``), with the money available
    now; ``full_iban`` for marketplace admins."""
    available = available_balance(vendor=account.vendor, currency=account.currency)
    return PayoutAccountOutputSerializer(account, context={"full_iban": full_iban, "available": available}).data


def withdrawal_data(withdrawal: Withdrawal, *, full_iban: bool) -> dict[str, Any]:
    """The body of a withdrawal (``WithdrawalOutputSerializer``); ``full_iban`` for admins."""
    return WithdrawalOutputSerializer(withdrawal, context={"full_iban": full_iban}).data


def payout_account_get(*, user, vendor_id: Any) -> PayoutAccount:
    """The payout account of a store, for its owners and marketplace admins. Raises ``NotFound``
    (``vendor_not_found``, ``payout_account_not_found``) and ``Forbidden`` (``forbidden``)."""
    vendor = _payout_vendor(user=user, vendor_id=vendor_id)
    account = PayoutAccount.objects.select_related("vendor").filter(vendor=vendor).first()
    if account is None:
        raise NotFound("This store has no bank details yet.", code="payout_account_not_found")
    return account


def withdrawal_list_for_vendor(*, user, vendor_id: Any, status: str | None = None) -> QuerySet[Withdrawal]:
    """A store's withdrawals, newest first (``status`` filters), for its owners and marketplace
    admins. Raises ``NotFound`` (``vendor_not_found``) and ``Forbidden`` (``forbidden``)."""
    vendor = _payout_vendor(user=user, vendor_id=vendor_id)
    qs = Withdrawal.objects.filter(vendor=vendor).select_related("vendor")
    return qs.filter(status=status) if status in WithdrawalStatus.values else qs


def withdrawal_get(*, user, withdrawal_id: Any, vendor_id: Any = None) -> Withdrawal:
    """One withdrawal, for its store's owners and marketplace admins (of store ``vendor_id``
    when given). Raises ``NotFound`` (``withdrawal_not_found``; also when ``user`` may not see
    it)."""
    pk = parse_uuid(withdrawal_id)
    withdrawal = Withdrawal.objects.select_related("vendor").filter(pk=pk).first() if pk else None
    if withdrawal is None or (vendor_id is not None and str(withdrawal.vendor_id) != str(vendor_id)) \
            or not can_view_payouts(user, withdrawal.vendor):
        raise NotFound("Withdrawal not found.", code="withdrawal_not_found")
    return withdrawal


def withdrawal_queue(*, user, status: str | None = None) -> QuerySet[Withdrawal]:
    """Every store's withdrawals, oldest first (staff work the queue in order): ``requested``
    and ``approved`` ones unless ``status`` says otherwise. Marketplace admins only (``Forbidden``)."""
    if not can_see_payout_queue(user):
        raise Forbidden("Only marketplace staff see the payout queue.", code="forbidden")
    qs = Withdrawal.objects.select_related("vendor").order_by("created_at", "id")
    if status in WithdrawalStatus.values:
        return qs.filter(status=status)
    return qs.filter(status__in=[WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED])


def payout_account_queue(*, user, status: str | None = None) -> QuerySet[PayoutAccount]:
    """Payout accounts of every store, oldest change first: ``unverified`` ones unless
    ``status`` says otherwise. Marketplace admins only (``Forbidden``)."""
    if not can_see_payout_queue(user):
        raise Forbidden("Only marketplace staff see the payout queue.", code="forbidden")
    wanted = status if status in BankDetailsStatus.values else BankDetailsStatus.UNVERIFIED
    return PayoutAccount.objects.select_related("vendor").filter(status=wanted).order_by("updated_at", "id")


def sees_full_iban(user) -> bool:
    """Marketplace admins see whole IBANs (they pay them); store owners see them masked."""
    return is_marketplace_admin(user)
