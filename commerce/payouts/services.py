"""Payouts: a store's bank details (verified by marketplace staff) and its withdrawals. The one
owner of ``BANK_DETAILS_TRANSITIONS`` and ``WITHDRAWAL_TRANSITIONS``.

Money. A store's earnings are in the wallet of its account holder (``Vendor.owner``: escrow
releases are paid there, ``commerce.payments.escrow``). A withdrawal is requested by one of the
store's owners for at least the store's ``minimum_amount`` and at most what is available
(balance less holds), only to verified bank details, only while the store is active (a
suspended store's money stays put while the marketplace looks into it). The amount is then
**held** in the wallet (``wallet_set_hold``, reference ``withdrawal:<id>``: ledger ``hold``) so
neither a second withdrawal nor a purchase can spend it; when staff mark it paid the hold
becomes a **debit** (``wallet_capture_hold``: ledger ``withdrawal``); a rejection or a
cancellation releases it (ledger ``release``). The wallet's lock and its ``available`` check
serialise concurrent requests: two withdrawals of the whole balance, one succeeds, the other is
``insufficient_funds``.

Who (``commerce.payouts.permissions``): the store's owners set bank details and request or
cancel withdrawals; a marketplace admin who is not on the store's staff verifies or rejects bank
details and approves, pays or rejects withdrawals.

Lock order: **vendor -> payout account -> withdrawal -> wallets**. Events (after commit) on the
``user:<id>`` topics of the store's owners: ``payout_account.updated`` ``{"account"}`` and
``withdrawal.updated`` ``{"withdrawal"}`` (bodies as the REST API gives them to owners: IBAN
masked). Notifications: ``payout.review_needed`` (marketplace admins: new bank details, a new
withdrawal), ``payout.bank_details_reviewed`` and ``payout.withdrawal_status_changed`` (the
store's owners).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import User
from core.permissions import marketplace_admins_q
from core.utils import parse_uuid
from notifications.kinds import EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime.outbox import publish_many
from realtime.user_topic import USER_TOPIC

from commerce.common.validation import invalid
from commerce.payouts.events import PayoutAccountUpdated, WithdrawalUpdated
from commerce.payouts.models import (
    BANK_DETAILS_MACHINE,
    WITHDRAWAL_MACHINE,
    BankDetailsStatus,
    PayoutAccount,
    Withdrawal,
    WithdrawalStatus,
)
from commerce.payouts.permissions import can_process_withdrawal, can_review_bank_details, can_view_payouts
from commerce.stores.models import Vendor, VendorStaff, VendorStatus
from commerce.stores.permissions import OWNER_ROLES, can_manage_payouts
from commerce.stores.services import lock_vendor
from commerce.wallet import services as wallets
from commerce.wallet.models import LedgerKind

REVIEW_NEEDED = register_kind(
    "payout.review_needed",
    description="A store submitted bank details to verify or requested a withdrawal (marketplace staff).",
    default_channels=(IN_APP,),
)
BANK_DETAILS_REVIEWED = register_kind(
    "payout.bank_details_reviewed",
    description="Marketplace staff verified or rejected your store's bank details.",
    default_channels=(IN_APP, EMAIL),
)
WITHDRAWAL_STATUS_CHANGED = register_kind(
    "payout.withdrawal_status_changed",
    description="A withdrawal of your store's earnings was approved, paid or rejected.",
    default_channels=(IN_APP, EMAIL),
)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


# --- announcing --------------------------------------------------------------------------------


def _owner_ids(vendor: Vendor) -> list[Any]:
    return list(VendorStaff.objects.filter(vendor=vendor, role__in=OWNER_ROLES).order_by("user_id")
                .values_list("user_id", flat=True))


def _announce_account(account: PayoutAccount) -> None:
    event = PayoutAccountUpdated.build(account=account)
    publish_many((USER_TOPIC.name(uid), event) for uid in _owner_ids(account.vendor))


def _announce_withdrawal(withdrawal: Withdrawal) -> None:
    event = WithdrawalUpdated.build(withdrawal=withdrawal)
    publish_many((USER_TOPIC.name(uid), event) for uid in _owner_ids(withdrawal.vendor))


def _tell_staff(*, title: str, body: str, data: dict[str, Any], target) -> None:
    admins = list(User.objects.filter(marketplace_admins_q()).values_list("pk", flat=True))
    if admins:
        notify(recipients=admins, kind=REVIEW_NEEDED.name, title=title, body=body, data=data, target=target)


# --- bank details ------------------------------------------------------------------------------


def validate_iban(value: Any) -> str:
    """``value`` as a compact upper-case IBAN when python-stdnum accepts it (country length and
    format, ISO 7064 check digits). Raises ``ApplicationError`` (``invalid``, field ``iban``)."""
    try:
        return stdnum_iban.validate(value if isinstance(value, str) else "")
    except StdnumError as exc:
        raise invalid("iban", f"Not a valid IBAN: {exc.message.rstrip('.')}.") from None


def validate_bic(value: Any) -> str:
    """``value`` as a compact upper-case BIC (8 or 11 characters: bank, ISO country, location,
    branch) when python-stdnum accepts it. Raises ``ApplicationError`` (``invalid``, ``bic``)."""
    try:
        return stdnum_bic.validate(value if isinstance(value, str) else "")
    except StdnumError as exc:
        raise invalid("bic", f"Not a valid BIC: {exc.message.rstrip('.')}.") from None


def _minimum(value: Any) -> Decimal:
    amount = wallets.validate_amount(value, field="minimum_amount")
    floor = _decimal(settings.PAYOUT_MINIMUM_FLOOR)
    if amount < floor:
        raise ApplicationError(f"The minimum withdrawal is at least {floor:.2f}.", code="minimum_too_low",
                               fields={"minimum_amount": [f"At least {floor:.2f}."]})
    return amount


def payout_account_set(*, vendor_id: uuid.UUID, actor, holder_name: str, iban: str, bic: str,
                       minimum_amount: Any = None) -> PayoutAccount:
    """Set the bank details of vendor ``vendor_id`` (and optionally its withdrawal minimum;
    default ``PAYOUT_DEFAULT_MINIMUM``). New or changed details (holder, IBAN or BIC) are
    ``unverified`` until marketplace staff check them (they are told); the minimum alone changes
    nothing else. Withdrawals already requested keep the details they were requested with.
    Publishes ``payout_account.updated``.

    Raises ``Forbidden`` (``forbidden``: only the store's owners), ``NotFound``
    (``vendor_not_found``), ``ApplicationError`` (``invalid``: holder, IBAN, BIC;
    ``invalid_amount``, ``minimum_too_low``).
    """
    holder = (holder_name or "").strip() if isinstance(holder_name, str) else ""
    if not 2 <= len(holder) <= 140 or "\x00" in holder:
        raise invalid("holder_name", "The account holder's name, 2-140 characters.")
    iban, bic = validate_iban(iban), validate_bic(bic)
    minimum = None if minimum_amount is None else _minimum(minimum_amount)
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        if not can_manage_payouts(actor, vendor):
            raise Forbidden("Only the store's owners manage its payouts.", code="forbidden")
        account = PayoutAccount.objects.select_for_update().filter(vendor=vendor).first()
        if account is None:
            account = PayoutAccount(vendor=vendor, minimum_amount=_decimal(settings.PAYOUT_DEFAULT_MINIMUM))
        changed = (account.holder_name, account.iban, account.bic) != (holder, iban, bic)
        account.holder_name, account.iban, account.bic = holder, iban, bic
        if minimum is not None:
            account.minimum_amount = minimum
        if changed and account.pk is not None and account.status != BankDetailsStatus.UNVERIFIED:
            BANK_DETAILS_MACHINE.check(account.status, BankDetailsStatus.UNVERIFIED)
            account.status, account.status_reason = BankDetailsStatus.UNVERIFIED, ""
            account.status_changed_by, account.status_changed_at = actor, timezone.now()
        account.save()
        _announce_account(account)
        if changed:
            _tell_staff(title=f"{vendor.name}: bank details to verify",
                        body=f"{holder}, {bic}. Verify them against the store's documents.",
                        data={"vendor_id": str(vendor.pk)}, target=account)
    return account


def _review(*, vendor_id: uuid.UUID, actor, to_status: str, reason: str = "") -> PayoutAccount:
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        account = PayoutAccount.objects.select_for_update().select_related("vendor").filter(vendor=vendor).first()
        if account is None:
            raise NotFound("This store has no bank details yet.", code="payout_account_not_found")
        if not can_review_bank_details(actor, account):
            raise Forbidden("Only marketplace staff who do not work for the store review its bank details.",
                            code="forbidden")
        BANK_DETAILS_MACHINE.check(account.status, to_status,
                                   detail=f"Bank details that are {account.status} cannot become {to_status}.")
        account.status, account.status_reason = to_status, reason
        account.status_changed_by, account.status_changed_at = actor, timezone.now()
        account.save(update_fields=["status", "status_reason", "status_changed_by", "status_changed_at", "updated_at"])
        _announce_account(account)
        verdict = "verified" if to_status == BankDetailsStatus.VERIFIED else "rejected"
        notify(recipients=_owner_ids(vendor), kind=BANK_DETAILS_REVIEWED.name,
               title=f"{vendor.name}: bank details {verdict}",
               body=reason or ("Withdrawals can now be paid to this account." if verdict == "verified" else ""),
               data={"vendor_id": str(vendor.pk), "status": to_status}, target=account)
    return account


def payout_account_verify(*, vendor_id: uuid.UUID, actor) -> PayoutAccount:
    """Marketplace staff verified the bank details of vendor ``vendor_id`` (unverified ->
    verified). The store's owners are told. Raises ``Forbidden`` (``forbidden``: not a
    marketplace admin, or one on the store's staff), ``NotFound`` (``vendor_not_found``,
    ``payout_account_not_found``), ``core.fsm.InvalidTransition`` (409)."""
    return _review(vendor_id=vendor_id, actor=actor, to_status=BankDetailsStatus.VERIFIED)


def payout_account_reject(*, vendor_id: uuid.UUID, actor, reason: str) -> PayoutAccount:
    """Marketplace staff rejected the bank details of vendor ``vendor_id`` (unverified ->
    rejected) for ``reason`` (1-300 characters, shown to the store). Same refusals as
    :func:`payout_account_verify`, and ``invalid`` for an empty reason."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not 1 <= len(reason) <= 300:
        raise invalid("reason", "Say why, in at most 300 characters.")
    return _review(vendor_id=vendor_id, actor=actor, to_status=BankDetailsStatus.REJECTED, reason=reason)


# --- withdrawals -------------------------------------------------------------------------------


def withdrawal_request(*, vendor_id: uuid.UUID, actor, amount: Any, currency: str | None = None) -> Withdrawal:
    """One of the store's owners asks to be paid ``amount`` (a decimal string, > 0, two places
    at most) of the store's earnings in ``currency`` (default: the payout account's). The amount
    is held in the account holder's wallet until staff pay or reject it (see the module
    docstring). Publishes ``withdrawal.updated``; marketplace staff are told.

    Raises ``Forbidden`` (``forbidden``: only the store's owners), ``NotFound``
    (``vendor_not_found``), ``Conflict`` ``store_not_active``, ``bank_details_missing``,
    ``bank_details_not_verified``, ``insufficient_funds`` (body: ``available``),
    ``ApplicationError`` ``invalid_amount`` or ``below_minimum`` (body: ``minimum_amount``).
    Nothing changes on a refusal.
    """
    amount = wallets.validate_amount(amount)
    with transaction.atomic():
        vendor = lock_vendor(vendor_id)
        if not can_manage_payouts(actor, vendor):
            raise Forbidden("Only the store's owners withdraw its earnings.", code="forbidden")
        if vendor.status != VendorStatus.ACTIVE:
            raise Conflict("A store that is not active cannot withdraw its earnings.", code="store_not_active")
        account = PayoutAccount.objects.select_for_update().filter(vendor=vendor).first()
        if account is None:
            raise Conflict("Add the store's bank details first.", code="bank_details_missing")
        if account.status != BankDetailsStatus.VERIFIED:
            raise Conflict("The store's bank details are not verified yet.", code="bank_details_not_verified",
                           extra={"bank_details_status": account.status})
        currency = currency or account.currency
        if currency != account.currency:
            raise invalid("currency", f"This store is paid out in {account.currency}.")
        if amount < account.minimum_amount:
            raise ApplicationError(f"The smallest withdrawal is {account.minimum_amount:.2f} {currency}.",
                                   code="below_minimum", fields={"amount": ["Below the store's minimum."]},
                                   extra={"minimum_amount": f"{account.minimum_amount:.2f}"})
        withdrawal = Withdrawal.objects.create(
            vendor=vendor, account_holder_id=vendor.owner_id, requested_by=actor, amount=amount, currency=currency,
            holder_name=account.holder_name, iban=account.iban, bic=account.bic)
        wallets.wallet_set_hold(user=vendor.owner_id, currency=currency, reference=withdrawal.hold_reference,
                                amount=amount)
        _announce_withdrawal(withdrawal)
        _tell_staff(title=f"{vendor.name} asks for a withdrawal of {amount:.2f} {currency}",
                    body=f"To {account.holder_name}, {account.bic}.",
                    data={"withdrawal_id": str(withdrawal.pk), "vendor_id": str(vendor.pk)}, target=withdrawal)
    return withdrawal


def _lock_withdrawal(withdrawal_id: Any) -> Withdrawal:
    pk = parse_uuid(withdrawal_id)
    withdrawal = Withdrawal.objects.select_for_update().filter(pk=pk).first() if pk else None
    if withdrawal is None:
        raise NotFound("Withdrawal not found.", code="withdrawal_not_found")
    return withdrawal


def _move(withdrawal: Withdrawal, to_status: str, *, actor, **fields: Any) -> Withdrawal:
    """Move a *locked* withdrawal along the map, settle the wallet hold, save, announce, notify."""
    WITHDRAWAL_MACHINE.check(withdrawal.status, to_status,
                             detail=f"A {withdrawal.status} withdrawal cannot become {to_status}.")
    now = timezone.now()
    holder, currency, reference = withdrawal.account_holder_id, withdrawal.currency, withdrawal.hold_reference
    if to_status == WithdrawalStatus.PAID:
        wallets.wallet_capture_hold(user=holder, currency=currency, reference=reference, amount=withdrawal.amount,
                                    payment_reference=reference, kind=LedgerKind.WITHDRAWAL)
    elif to_status in (WithdrawalStatus.REJECTED, WithdrawalStatus.CANCELLED):
        wallets.wallet_release_hold(user=holder, currency=currency, reference=reference)
    withdrawal.status = to_status
    stamp = {WithdrawalStatus.APPROVED: "approved_at", WithdrawalStatus.PAID: "paid_at",
             WithdrawalStatus.REJECTED: "rejected_at", WithdrawalStatus.CANCELLED: "cancelled_at"}[to_status]
    setattr(withdrawal, stamp, now)
    for name, value in fields.items():
        setattr(withdrawal, name, value)
    if to_status != WithdrawalStatus.CANCELLED:
        withdrawal.decided_by = actor
    withdrawal.save()
    _announce_withdrawal(withdrawal)
    if to_status != WithdrawalStatus.CANCELLED:
        vendor = withdrawal.vendor
        notify(recipients=_owner_ids(vendor), kind=WITHDRAWAL_STATUS_CHANGED.name,
               title=f"Withdrawal of {withdrawal.amount:.2f} {currency} {to_status}",
               body=fields.get("reason", "") or (f"Bank reference: {withdrawal.bank_reference}."
                                                 if to_status == WithdrawalStatus.PAID else ""),
               data={"withdrawal_id": str(withdrawal.pk), "vendor_id": str(vendor.pk), "status": to_status},
               target=withdrawal)
    return withdrawal


def _staff_move(*, withdrawal_id: Any, actor, to_status: str, **fields: Any) -> Withdrawal:
    with transaction.atomic():
        withdrawal = _lock_withdrawal(withdrawal_id)
        if not can_process_withdrawal(actor, withdrawal):
            raise Forbidden("Only marketplace staff who do not work for the store process its withdrawals.",
                            code="forbidden")
        return _move(withdrawal, to_status, actor=actor, **fields)


def withdrawal_approve(*, withdrawal_id: Any, actor) -> Withdrawal:
    """Marketplace staff approve a requested withdrawal (requested -> approved); the money stays
    held until it is paid. Raises ``Forbidden`` (``forbidden``: see
    ``can_process_withdrawal``), ``NotFound`` (``withdrawal_not_found``),
    ``core.fsm.InvalidTransition`` (409)."""
    return _staff_move(withdrawal_id=withdrawal_id, actor=actor, to_status=WithdrawalStatus.APPROVED)


def withdrawal_mark_paid(*, withdrawal_id: Any, actor, bank_reference: str) -> Withdrawal:
    """Marketplace staff transferred an approved withdrawal (approved -> paid) with the bank's
    ``bank_reference`` (1-64 characters): the hold becomes a ``withdrawal`` debit of the wallet.
    Same refusals as :func:`withdrawal_approve`, and ``invalid`` for an empty reference."""
    ref = (bank_reference or "").strip() if isinstance(bank_reference, str) else ""
    if not 1 <= len(ref) <= 64 or "\x00" in ref:
        raise invalid("bank_reference", "The bank transfer's reference, 1-64 characters.")
    return _staff_move(withdrawal_id=withdrawal_id, actor=actor, to_status=WithdrawalStatus.PAID, bank_reference=ref)


def withdrawal_reject(*, withdrawal_id: Any, actor, reason: str) -> Withdrawal:
    """Marketplace staff reject a requested or approved withdrawal for ``reason`` (1-300
    characters, shown to the store): the hold is released. Same refusals as
    :func:`withdrawal_approve`, and ``invalid`` for an empty reason."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not 1 <= len(reason) <= 300:
        raise invalid("reason", "Say why, in at most 300 characters.")
    return _staff_move(withdrawal_id=withdrawal_id, actor=actor, to_status=WithdrawalStatus.REJECTED, reason=reason)


def withdrawal_cancel(*, withdrawal_id: Any, actor) -> Withdrawal:
    """One of the store's owners cancels a withdrawal still ``requested``: the hold is released.
    Raises ``NotFound`` (``withdrawal_not_found``, also for anyone who may not see it),
    ``Forbidden`` (``forbidden``: a marketplace admin is not the store), ``core.fsm.InvalidTransition``
    (409: approved or later)."""
    with transaction.atomic():
        withdrawal = _lock_withdrawal(withdrawal_id)
        if not can_manage_payouts(actor, withdrawal.vendor_id):
            if can_view_payouts(actor, withdrawal.vendor_id):
                raise Forbidden("Only the store's owners cancel its withdrawals; staff reject them.", code="forbidden")
            raise NotFound("Withdrawal not found.", code="withdrawal_not_found")
        return _move(withdrawal, WithdrawalStatus.CANCELLED, actor=actor, reason="Cancelled by the store")
