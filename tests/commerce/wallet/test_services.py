"""Wallet services: ledger sums equal balances, holds, captures, and no negative balance under
concurrent spends (real threads on PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from commerce.wallet import services as wallets
from commerce.wallet.models import LedgerEntry, LedgerKind, Wallet
from core.exceptions import ApplicationError, Conflict
from realtime.models import OutboxEvent
from tests.factories.core import UserFactory
from tests.factories.orders import funded_wallet

pytestmark = pytest.mark.django_db


def test_deposit_appends_ledger_entry_and_publishes_wallet_updated():
    user = UserFactory()
    wallet = funded_wallet(user, "50.00")
    assert (wallet.balance, wallet.held_balance, wallet.available) == (Decimal("50.00"), 0, Decimal("50.00"))
    entry = LedgerEntry.objects.get(wallet=wallet)
    assert (entry.kind, entry.amount, entry.balance_after) == ("deposit", Decimal("50.00"), Decimal("50.00"))
    event = OutboxEvent.objects.filter(topic=f"user:{user.pk}", type="wallet.updated").last()
    assert event.data["balance"] == "50.00" and event.data["available"] == "50.00"


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.001", 1.5, None, True, "NaN", "Infinity"])
def test_bad_amounts_are_refused(bad):
    with pytest.raises(ApplicationError) as exc:
        wallets.validate_amount(bad)
    assert exc.value.code == "invalid_amount"


def test_debit_more_than_available_is_refused_and_changes_nothing():
    user = UserFactory()
    funded_wallet(user, "10.00")
    wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:a", amount=Decimal("8.00"))
    with pytest.raises(Conflict) as exc:
        wallets.wallet_debit(user=user, amount=Decimal("3.00"), currency="EUR")
    assert exc.value.code == "insufficient_funds" and exc.value.extra["available"] == "2.00"
    check = wallets.wallet_check_ledger(wallet=Wallet.objects.get(user=user))
    assert check.ok and check.balance == Decimal("10.00") and check.held_balance == Decimal("8.00")


def test_set_hold_raises_lowers_and_releases_with_ledger_entries():
    user = UserFactory()
    funded_wallet(user, "100.00")
    hold = wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:x", amount=Decimal("30.00"))
    assert hold.amount == Decimal("30.00")
    assert wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:x", amount=Decimal("30.00")).pk == hold.pk
    wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:x", amount=Decimal("45.00"))
    wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:x", amount=Decimal("20.00"))
    wallet = Wallet.objects.get(user=user)
    assert (wallet.balance, wallet.held_balance) == (Decimal("100.00"), Decimal("20.00"))
    assert wallets.wallet_release_hold(user=user, currency="EUR", reference="auction:x") is True
    assert wallets.wallet_release_hold(user=user, currency="EUR", reference="auction:x") is False
    kinds = list(LedgerEntry.objects.filter(wallet__user=user).order_by("id").values_list("kind", "held_amount"))
    assert kinds == [("deposit", 0), ("hold", Decimal("30.00")), ("hold", Decimal("15.00")),
                     ("release", Decimal("-25.00")), ("release", Decimal("-20.00"))]
    assert wallets.wallet_check_ledger(wallet=wallet).ok


def test_hold_needs_available_funds():
    user = UserFactory()
    funded_wallet(user, "10.00")
    with pytest.raises(Conflict) as exc:
        wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:y", amount=Decimal("10.01"))
    assert exc.value.code == "insufficient_funds"
    assert Wallet.objects.get(user=user).held_balance == 0


def locked(users, reference):
    return wallets.lock_wallets(keys=[(u, "EUR") for u in users], hold_reference=reference)


def test_set_holds_moves_several_holds_as_wallet_set_hold_would_with_one_statement_per_write():
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for u in (a, b, c):
        funded_wallet(u, "100.00")
    ref = "auction:m"
    wallets.wallet_set_hold(user=a, currency="EUR", reference=ref, amount=Decimal("30.00"))
    wallets.wallet_set_hold(user=c, currency="EUR", reference=ref, amount=Decimal("10.00"))
    published = OutboxEvent.objects.count()
    with transaction.atomic():
        w = locked([a, b, c], ref)
        assert (w[(a.pk, "EUR")].hold_amount, w[(b.pk, "EUR")].hold_amount) == (Decimal("30.00"), None)
        with CaptureQueriesContext(connection) as ctx:
            # a released, b placed, c raised: one UPDATE of wallets, one INSERT of entries, one
            # UPDATE of the existing holds, one INSERT of the new one, one outbox INSERT
            wallets.wallets_set_holds(reference=ref, wallets=w, amounts={
                (a.pk, "EUR"): Decimal("0"), (b.pk, "EUR"): Decimal("45.00"), (c.pk, "EUR"): Decimal("25.00")})
        assert len(ctx.captured_queries) == 5
    assert [wallets.active_hold(user=u, currency="EUR", reference=ref) is not None for u in (a, b, c)] == [False, True, True]
    assert wallets.active_hold(user=c, currency="EUR", reference=ref).amount == Decimal("25.00")
    for user, held in ((a, "0.00"), (b, "45.00"), (c, "25.00")):
        wallet = Wallet.objects.get(user=user)
        assert wallet.held_balance == Decimal(held) and wallets.wallet_check_ledger(wallet=wallet).ok
    assert list(LedgerEntry.objects.filter(wallet__user__in=[a, b, c], reference=ref).order_by("id")
                .values_list("wallet__user", "kind", "held_amount"))[-3:] == [
        (a.pk, "release", Decimal("-30.00")), (b.pk, "hold", Decimal("45.00")), (c.pk, "hold", Decimal("15.00"))]
    updated = OutboxEvent.objects.filter(type="wallet.updated").order_by("-id")[:3]
    assert OutboxEvent.objects.count() == published + 3
    assert sorted(e.data["held_balance"] for e in updated) == ["0.00", "25.00", "45.00"]
    # the released hold can be placed again (one active hold per wallet and reference)
    with transaction.atomic():
        wallets.wallets_set_holds(reference=ref, wallets=locked([a], ref), amounts={(a.pk, "EUR"): Decimal("5.00")})
    assert wallets.active_hold(user=a, currency="EUR", reference=ref).amount == Decimal("5.00")


def test_set_holds_refuses_a_raise_beyond_the_available_funds_and_writes_nothing():
    a, b = UserFactory(), UserFactory()
    funded_wallet(a, "100.00")
    funded_wallet(b, "10.00")
    ref = "auction:n"
    wallets.wallet_set_hold(user=a, currency="EUR", reference=ref, amount=Decimal("30.00"))
    entries = LedgerEntry.objects.count()
    with pytest.raises(Conflict) as exc, transaction.atomic():
        wallets.wallets_set_holds(reference=ref, wallets=locked([a, b], ref),
                                  amounts={(a.pk, "EUR"): Decimal("0"), (b.pk, "EUR"): Decimal("10.01")})
    assert exc.value.code == "insufficient_funds"
    assert LedgerEntry.objects.count() == entries
    assert Wallet.objects.get(user=a).held_balance == Decimal("30.00") and Wallet.objects.get(user=b).held_balance == 0
    with pytest.raises(ValueError), transaction.atomic():  # wallets locked without their holds
        wallets.wallets_set_holds(reference=ref, wallets=wallets.lock_wallets(keys=[(a, "EUR")]),
                                  amounts={(a.pk, "EUR"): Decimal("0")})


def test_capture_hold_pays_from_held_funds_and_releases_the_rest():
    user = UserFactory()
    funded_wallet(user, "100.00")
    wallets.wallet_set_hold(user=user, currency="EUR", reference="auction:z", amount=Decimal("60.00"))
    wallet = wallets.wallet_capture_hold(user=user, currency="EUR", reference="auction:z", amount=Decimal("42.00"),
                                         payment_reference="order:o")
    assert (wallet.balance, wallet.held_balance) == (Decimal("58.00"), Decimal("0.00"))
    assert wallets.active_hold(user=user, currency="EUR", reference="auction:z") is None
    assert wallets.wallet_check_ledger(wallet=wallet).ok
    with pytest.raises(Conflict) as exc:
        wallets.wallet_capture_hold(user=user, currency="EUR", reference="auction:z", amount=Decimal("1.00"),
                                    payment_reference="order:o")
    assert exc.value.code == "no_active_hold"


def test_database_refuses_negative_balance_even_without_the_service():
    user = UserFactory()
    wallet = wallets.wallet_get(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("-1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(held_balance=Decimal("1.00"))  # held > balance


@pytest.mark.django_db(transaction=True)
def test_concurrent_spends_never_drive_the_balance_negative():
    """40 threads each try to spend 10.00 (or hold it) from a wallet with 95.00: exactly 9
    succeed, the others get insufficient_funds, and the ledger sums to the balances."""
    user = UserFactory()
    funded_wallet(user, "95.00")
    barrier = threading.Barrier(40)
    results: list[str] = []
    lock = threading.Lock()

    def spend(i: int) -> None:
        try:
            barrier.wait()
            if i % 2:
                wallets.wallet_debit(user=user.pk, amount=Decimal("10.00"), currency="EUR", reference=f"t:{i}")
            else:
                wallets.wallet_set_hold(user=user.pk, currency="EUR", reference=f"auction:{i}", amount=Decimal("10.00"))
            outcome = "ok"
        except Conflict as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 9 and results.count("insufficient_funds") == 31
    wallet = Wallet.objects.get(user=user)
    check = wallets.wallet_check_ledger(wallet=wallet)
    assert check.ok and wallet.available == Decimal("5.00") and wallet.balance >= wallet.held_balance >= 0
    assert LedgerEntry.objects.filter(wallet=wallet).exclude(kind=LedgerKind.DEPOSIT).count() == 9
