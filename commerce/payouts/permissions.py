"""Permission predicates of the payouts room (the vocabulary's style: ``predicate(user, obj)
-> bool``, never raising, False for anonymous and inactive users).

A store's owners manage its payouts (``commerce.stores.permissions.can_manage_payouts``:
bank details, withdrawals); marketplace admins verify bank details and approve, pay or reject
withdrawals, but never for a store they work for themselves (four eyes: the person who asks
for money is never the one who releases it)."""

from __future__ import annotations

from core.permissions import is_marketplace_admin

from commerce.payouts.models import PayoutAccount, Withdrawal
from commerce.stores.permissions import can_manage_payouts, is_store_staff


def can_view_payouts(user, vendor) -> bool:
    """Who reads a store's bank details and withdrawals: its owners and marketplace admins."""
    return is_marketplace_admin(user) or can_manage_payouts(user, vendor)


def can_review_bank_details(user, account: PayoutAccount) -> bool:
    """Who verifies or rejects a store's bank details: a marketplace admin who is not on that
    store's staff."""
    return is_marketplace_admin(user) and not is_store_staff(user, account.vendor_id)


def can_process_withdrawal(user, withdrawal: Withdrawal) -> bool:
    """Who approves, pays or rejects a withdrawal: a marketplace admin who is not on the
    store's staff."""
    return is_marketplace_admin(user) and not is_store_staff(user, withdrawal.vendor_id)


def can_see_payout_queue(user) -> bool:
    """Who lists the bank details and withdrawals of every store (the staff queue): marketplace
    admins."""
    return is_marketplace_admin(user)
