"""Two withdrawals of the whole balance at once: exactly one is held, the other is refused
``insufficient_funds``, and the wallet never holds more than it has.

Each thread has its own PostgreSQL connection and commits for real (transactional_db); a
barrier starts them together so both read the balance before either holds it — the vendor and
wallet locks, and the ``available`` check under them, are what is tested.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from commerce.payouts.models import Withdrawal
from commerce.payouts.services import withdrawal_request
from commerce.wallet.models import LedgerEntry, Wallet
from core.exceptions import ApplicationError
from tests.factories.stores import member, store_with_earnings

pytestmark = pytest.mark.django_db(transaction=True)


def race(n: int, fn) -> list:
    barrier = threading.Barrier(n)

    def run(i: int):
        try:
            barrier.wait(timeout=10)
            return fn(i)
        except ApplicationError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_two_withdrawals_of_the_whole_balance_one_succeeds():
    vendor = store_with_earnings("250.00")
    co_owner = member(vendor, "owner")
    owners = [vendor.owner, co_owner]
    outcomes = race(2, lambda i: withdrawal_request(vendor_id=vendor.pk, actor=owners[i], amount="250.00"))
    held = [o for o in outcomes if isinstance(o, Withdrawal)]
    assert len(held) == 1 and [o for o in outcomes if not isinstance(o, Withdrawal)] == ["insufficient_funds"]
    wallet = Wallet.objects.get(user=vendor.owner, currency="EUR")
    assert (wallet.balance, wallet.held_balance) == (Decimal("250.00"), Decimal("250.00"))
    assert Withdrawal.objects.filter(vendor=vendor).count() == 1
    assert LedgerEntry.objects.filter(wallet=wallet, kind="hold").count() == 1


def test_many_concurrent_withdrawals_never_hold_more_than_the_balance():
    vendor = store_with_earnings("100.00")
    outcomes = race(6, lambda i: withdrawal_request(vendor_id=vendor.pk, actor=vendor.owner, amount="30.00"))
    assert sum(isinstance(o, Withdrawal) for o in outcomes) == 3
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["insufficient_funds"] * 3
    wallet = Wallet.objects.get(user=vendor.owner, currency="EUR")
    assert wallet.held_balance == Decimal("90.00") and wallet.available == Decimal("10.00")
