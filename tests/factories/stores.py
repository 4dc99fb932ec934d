"""People around a store, for the "wrong actor" tests of the store's endpoints: the store's
manager and clerk, a buyer, another store's owner, a courier, an inactive co-owner and an
anonymous visitor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from commerce.payouts import services as payouts
from commerce.stores.models import VendorStaff, VendorStaffRole
from commerce.wallet import services as wallets
from commerce.wallet.models import LedgerKind
from core.models import Role
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory
from tests.factories.core import AdminFactory, UserFactory


def member(vendor, role: str = VendorStaffRole.STAFF, **user_fields):
    """A new user on ``vendor``'s staff with ``role``."""
    user = UserFactory(roles=[Role.VENDOR], **user_fields)
    VendorStaff.objects.create(vendor=vendor, user=user, role=role)
    return user


def store_people(vendor) -> dict[str, Any]:
    """``{name: user or None}``: ``manager`` and ``clerk`` (role ``staff``) of ``vendor``, a
    ``buyer``, ``other_owner`` (another active store's owner), a ``courier``, ``inactive`` (a
    deactivated co-owner of ``vendor``) and ``anonymous`` (None)."""
    return {
        "manager": member(vendor, VendorStaffRole.MANAGER),
        "clerk": member(vendor, VendorStaffRole.STAFF),
        "buyer": UserFactory(),
        "other_owner": VendorFactory().owner,
        "courier": UserFactory(roles=[Role.COURIER]),
        "inactive": member(vendor, VendorStaffRole.OWNER, is_active=False),
        "anonymous": None,
    }


def client_of(user) -> APIClient:
    """An API client signed in as ``user`` (None: anonymous)."""
    return client_for(user) if user is not None else APIClient()


#: statuses a refused request may answer with: not signed in (401), not allowed (403), not visible (404)
REFUSED = {401, 403, 404}


#: the bank details ``store_with_earnings`` sets (a valid German IBAN and BIC)
BANK_DETAILS = {"holder_name": "Rapid Parts GmbH", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}


def store_with_earnings(amount: str, *, minimum: str | None = None, vendor=None):
    """An active store (new unless given) whose account holder's EUR wallet holds ``amount`` of
    released earnings (a ``payout`` ledger credit through the real service) and whose bank
    details are set and verified by a marketplace admin (``minimum``: its withdrawal minimum)."""
    vendor = vendor or VendorFactory()
    wallets.wallet_credit(user=vendor.owner, amount=Decimal(amount), currency="EUR", kind=LedgerKind.PAYOUT,
                          reference=f"test:earnings:{vendor.pk}")
    payouts.payout_account_set(vendor_id=vendor.pk, actor=vendor.owner, minimum_amount=minimum, **BANK_DETAILS)
    payouts.payout_account_verify(vendor_id=vendor.pk, actor=AdminFactory())
    return vendor
