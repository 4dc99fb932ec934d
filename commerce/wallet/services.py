"""Wallet services: deposits, holds, releases, payments, refunds and escrow payouts.

A :class:`~commerce.wallet.models.Wallet` belongs to one user and one currency. Every change of its
``balance`` / ``held_balance`` appends a :class:`~commerce.wallet.models.LedgerEntry` in the same
transaction, so the ledger always sums to the balances (``wallet_check_ledger`` verifies it) and
the database constraints keep 0 <= held <= balance. After commit the owner's ``user:<id>`` topic
gets ``wallet.updated`` with the wallet summary.

Concurrency: wallets are locked with ``SELECT ... FOR UPDATE`` in primary-key order
(:func:`lock_wallets`) and every precondition (available funds, hold status) is checked under the
lock. Callers that also lock orders or auctions lock those first, then wallets.

Money: ``Decimal`` with two places plus an ISO 4217 currency; amounts must be > 0 and have at
most two decimals. A balance never passes :data:`MAX_BALANCE`, the largest value its column
(``numeric(14, 2)``) stores: a change that would is refused before it reaches the database.
Refusals: ``Conflict`` ``insufficient_funds`` (409, body has ``available``), ``Conflict``
``wallet_limit_exceeded`` (409, body has ``max_credit``), ``ApplicationError``
``invalid_amount`` (400).

These functions are the ones later features use: auctions hold a leader's maximum with
:func:`wallet_set_hold` and pay a won auction with :func:`wallet_capture_hold`; payouts hold a
requested withdrawal the same way and capture it as a ``withdrawal`` entry when it is paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict
from realtime.outbox import publish, publish_many
from realtime.user_topic import USER_TOPIC

from commerce.common.money import CENT, DEFAULT_CURRENCY
from commerce.wallet.events import WalletUpdated
from commerce.wallet.models import HoldStatus, LedgerEntry, LedgerKind, Wallet, WalletHold
from commerce.wallet.serializers import WalletSerializer

PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
MAX_AMOUNT = Decimal("999999999999.99")


def _column_max(field_name: str) -> Decimal:
    field = Wallet._meta.get_field(field_name)
    digits, places = field.max_digits, field.decimal_places
    return (Decimal(10) ** (digits - places) - Decimal(1).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


#: the largest balance a wallet can hold: what ``Wallet.balance`` (``numeric(14, 2)``) stores
MAX_BALANCE = _column_max("balance")


def validate_amount(value: Any, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """``value`` as a positive ``Decimal`` with at most two decimals (plain decimal strings such
    as ``"12.50"``, ints and Decimals; floats, bools and exponent forms are refused because they
    are not exact or not what a person typed). Raises ``ApplicationError``
    ``invalid_amount`` (400) naming ``field``."""
    if isinstance(value, (bool, float)) or value is None:
        amount = None
    elif isinstance(value, (int, Decimal)) or (isinstance(value, str) and PLAIN_DECIMAL.match(value.strip())):
        try:
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            amount = None
    else:
        amount = None  # exponents ("1e3"), "NaN", "Infinity", lists...
    if amount is None or not amount.is_finite():
        raise ApplicationError(f"{field} must be a decimal number such as \"12.50\".", code="invalid_amount",
                               fields={field: ["Not a decimal number."]})
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ApplicationError(f"{field} has more than two decimals.", code="invalid_amount",
                               fields={field: ["At most two decimals."]})
    if amount < 0 or (amount == 0 and not allow_zero) or amount > MAX_AMOUNT:
        raise ApplicationError(f"{field} must be greater than zero.", code="invalid_amount",
                               fields={field: ["Must be greater than zero."]})
    return amount.quantize(CENT)


def wallet_data(wallet: Wallet) -> dict[str, Any]:
    """The wallet summary (``wallet.updated`` data), rendered by
    :class:`commerce.wallet.serializers.WalletSerializer`::

        {"id", "currency", "balance", "held_balance", "available", "version", "updated_at"}

    money as ``"12.50"`` strings."""
    return WalletSerializer(wallet).data


def wallet_get(*, user, currency: str = DEFAULT_CURRENCY) -> Wallet:
    """The user's wallet in ``currency`` (created empty when missing; safe under concurrency)."""
    wallet = Wallet.objects.filter(user=user, currency=currency).first()
    if wallet is None:
        Wallet.objects.bulk_create([Wallet(user=user, currency=currency)], ignore_conflicts=True)
        wallet = Wallet.objects.get(user=user, currency=currency)
    return wallet


def lock_wallets(*, keys: Iterable[tuple[Any, str]], hold_reference: str | None = None) -> dict[tuple[Any, str], Wallet]:
    """Lock (``FOR UPDATE``) the wallets of ``(user_id, currency)`` pairs, creating missing ones,
    in primary-key order. Returns ``{(user_id, currency): Wallet}``. Call inside a transaction.
    One query when every wallet exists (the common case).

    With ``hold_reference`` the same query also reads each wallet's active hold for that
    reference: ``wallet.hold_id`` and ``wallet.hold_amount`` (None without one), what
    :func:`wallets_set_holds` changes. The hold rows need no lock of their own: every change of
    a hold locks its wallet first."""
    keys = list(dict.fromkeys((getattr(u, "pk", u), c) for u, c in keys))
    match = Q()
    for user_id, currency in keys:
        match |= Q(user_id=user_id, currency=currency)
    qs = Wallet.objects.select_for_update(of=("self",)).filter(match).order_by("pk")
    if hold_reference is not None:
        active = WalletHold.objects.filter(wallet=OuterRef("pk"), reference=hold_reference, status=HoldStatus.ACTIVE)
        qs = qs.annotate(hold_id=Subquery(active.values("pk")[:1]), hold_amount=Subquery(active.values("amount")[:1]))
    found = {(w.user_id, w.currency): w for w in qs}
    missing = [k for k in keys if k not in found]
    if missing:
        Wallet.objects.bulk_create([Wallet(user_id=u, currency=c) for u, c in missing], ignore_conflicts=True)
        found = {(w.user_id, w.currency): w for w in qs.all()}
    return found


def _lock_one(user, currency: str) -> Wallet:
    return lock_wallets(keys=[(user, currency)])[(getattr(user, "pk", user), currency)]


def _limit_exceeded(wallet: Wallet | None, currency: str) -> Conflict:
    room = MAX_BALANCE - (wallet.balance if wallet is not None else Decimal("0.00"))
    return Conflict(
        f"Your {currency} wallet cannot hold more than {MAX_BALANCE:,.2f}; at most {max(room, Decimal('0.00')):.2f} "
        "more can be added.",
        code="wallet_limit_exceeded",
        extra={"max_credit": f"{max(room, Decimal('0.00')):.2f}", "currency": currency},
    )


def wallet_check_capacity(*, user, currency: str, amount: Decimal) -> None:
    """Raise ``Conflict`` ``wallet_limit_exceeded`` when crediting ``amount`` would take the
    user's ``currency`` wallet past :data:`MAX_BALANCE` now. A check without a lock, made before a
    card is charged for a deposit; the credit itself re-checks under the wallet lock."""
    wallet = Wallet.objects.filter(user=user, currency=currency).only("balance").first()
    if (wallet.balance if wallet else Decimal("0.00")) + amount > MAX_BALANCE:
        raise _limit_exceeded(wallet, currency)


def _apply(wallet: Wallet, *, kind: str, amount: Decimal, held: Decimal = Decimal("0.00"),
           reference: str = "", memo: str = "") -> LedgerEntry:
    """Change a *locked* wallet by (``amount``, ``held``), append the ledger entry, publish.
    Raises ``insufficient_funds`` / ``wallet_limit_exceeded`` (nothing written)."""
    entry = _change(wallet, kind=kind, amount=amount, held=held, reference=reference, memo=memo)
    wallet.save(update_fields=["balance", "held_balance", "version", "updated_at"])
    entry.save(force_insert=True)
    publish(topic=USER_TOPIC.name(wallet.user_id), event=WalletUpdated.build(wallet_data(wallet)))
    return entry


def _change(wallet: Wallet, *, kind: str, amount: Decimal, held: Decimal = Decimal("0.00"), reference: str = "",
            memo: str = "", now: datetime | None = None) -> LedgerEntry:
    """Change a *locked* wallet by (``amount``, ``held``) in memory and return its ledger entry,
    unsaved: the one rule of every balance change, written by :func:`_apply` row by row and by
    :func:`wallets_set_holds` in bulk. Raises ``insufficient_funds`` / ``wallet_limit_exceeded``."""
    if wallet.balance + amount > MAX_BALANCE:
        raise _limit_exceeded(wallet, wallet.currency)
    wallet.balance += amount
    wallet.held_balance += held
    if wallet.held_balance < 0 or wallet.balance < wallet.held_balance:
        raise Conflict(
            f"Not enough available funds in your {wallet.currency} wallet.",
            code="insufficient_funds",
            extra={"available": f"{wallet.available:.2f}", "currency": wallet.currency},
        )
    wallet.version += 1
    wallet.updated_at = now or timezone.now()
    return LedgerEntry(wallet=wallet, kind=kind, amount=amount, held_amount=held, balance_after=wallet.balance,
                       held_after=wallet.held_balance, reference=reference[:80], memo=memo[:200])


def _insufficient(wallet: Wallet, needed: Decimal) -> Conflict:
    return Conflict(
        f"Not enough available funds: {needed:.2f} {wallet.currency} needed, {wallet.available:.2f} available.",
        code="insufficient_funds",
        extra={"available": f"{wallet.available:.2f}", "currency": wallet.currency},
    )


def wallet_credit(*, user, amount: Decimal, currency: str, kind: str = LedgerKind.DEPOSIT,
                  reference: str = "", memo: str = "") -> Wallet:
    """Add ``amount`` (> 0) to the user's balance as a ``deposit``, ``refund`` or ``payout``
    entry. Returns the locked, updated wallet."""
    amount = validate_amount(amount)
    if kind not in (LedgerKind.DEPOSIT, LedgerKind.REFUND, LedgerKind.PAYOUT, LedgerKind.COMMISSION):
        raise ValueError(f"{kind} is not a credit")
    with transaction.atomic():
        wallet = _lock_one(user, currency)
        _apply(wallet, kind=kind, amount=amount, reference=reference, memo=memo)
        return wallet


def wallet_debit(*, user, amount: Decimal, currency: str, kind: str = LedgerKind.PAYMENT,
                 reference: str = "", memo: str = "") -> Wallet:
    """Take ``amount`` (> 0) from the user's *available* funds as a ``payment``, ``refund``
    (a vendor giving money back), ``return_refund`` (a vendor paying back a return) or
    ``commission`` entry. Raises ``Conflict``
    ``insufficient_funds`` (nothing changed) when available < amount."""
    amount = validate_amount(amount)
    if kind not in (LedgerKind.PAYMENT, LedgerKind.REFUND, LedgerKind.RETURN_REFUND, LedgerKind.COMMISSION):
        raise ValueError(f"{kind} is not a debit")
    with transaction.atomic():
        wallet = _lock_one(user, currency)
        if wallet.available < amount:
            raise _insufficient(wallet, amount)
        _apply(wallet, kind=kind, amount=-amount, reference=reference, memo=memo)
        return wallet


def active_hold(*, user, currency: str, reference: str) -> WalletHold | None:
    """The active hold of the user's wallet for ``reference``, or None (no lock taken)."""
    return WalletHold.objects.filter(
        wallet__user=user, wallet__currency=currency, reference=reference, status=HoldStatus.ACTIVE
    ).first()


def wallet_set_hold(*, user, currency: str, reference: str, amount: Decimal,
                    wallet: Wallet | None = None) -> WalletHold | None:
    """Make the user's active hold for ``reference`` exactly ``amount`` (``0`` releases it).

    Raising a hold needs the difference in available funds (else ``Conflict``
    ``insufficient_funds`` and nothing changes); lowering or releasing writes a ``release`` entry.
    Idempotent: setting the same amount again changes nothing. Returns the active hold or None.
    Used by auctions: the leader's maximum is held; losing the lead sets it to 0. ``wallet``: the
    user's wallet when the caller has locked it already, in its own transaction (saves the lock
    query and the savepoint).
    """
    amount = validate_amount(amount, allow_zero=True)
    # A caller that passes its locked wallet is inside its own transaction: no savepoint (two
    # statements fewer; an error here rolls the caller's transaction back, as it raises through it).
    with transaction.atomic(savepoint=wallet is None):
        wallet = wallet or _lock_one(user, currency)
        hold = WalletHold.objects.select_for_update().filter(
            wallet=wallet, reference=reference, status=HoldStatus.ACTIVE
        ).first()
        current = hold.amount if hold else Decimal("0.00")
        delta = amount - current
        if delta == 0:
            return hold
        if delta > 0 and wallet.available < delta:
            raise _insufficient(wallet, delta)
        _apply(wallet, kind=LedgerKind.HOLD if delta > 0 else LedgerKind.RELEASE, amount=Decimal("0.00"),
               held=delta, reference=reference)
        if amount == 0:
            hold.status = HoldStatus.RELEASED
            hold.save(update_fields=["status", "updated_at"])
            return None
        if hold is None:
            return WalletHold.objects.create(wallet=wallet, reference=reference, amount=amount)
        hold.amount = amount
        hold.save(update_fields=["amount", "updated_at"])
        return hold


def wallets_set_holds(*, reference: str, amounts: dict[tuple[Any, str], Decimal],
                      wallets: dict[tuple[Any, str], Wallet], events: list | None = None) -> None:
    """Set-based :func:`wallet_set_hold` for several wallets at once: make each wallet's active
    hold for ``reference`` exactly ``amounts[(user_id, currency)]`` (``0`` releases it).

    ``wallets`` are the caller's, locked in its transaction by :func:`lock_wallets` with
    ``hold_reference=reference`` (``ValueError`` otherwise). Every raise is checked first
    (``Conflict`` ``insufficient_funds`` when a wallet lacks the difference; nothing is written
    then). The writes are one statement each whatever the number of wallets: the wallets'
    ``held_balance``, their ``hold`` / ``release`` ledger entries, the changed hold rows, the
    new hold rows and the ``wallet.updated`` events. With ``events`` (a list), those events are
    appended to it as ``(topic, event)`` pairs for the caller's own ``publish_many`` (one outbox
    INSERT for the whole command) instead of being published here. Used by a bid that moves the
    lead: the old leader's hold released and the new leader's placed, under the auction's row
    lock, whose hold time bounds an auction's bids per second (issue 16)."""
    changes: list[tuple[Wallet, Decimal, Decimal]] = []
    for key, amount in amounts.items():
        amount = validate_amount(amount, allow_zero=True)
        wallet = wallets[key]
        if not hasattr(wallet, "hold_amount"):
            raise ValueError("wallets_set_holds needs wallets locked by lock_wallets(hold_reference=...)")
        delta = amount - (wallet.hold_amount or Decimal("0.00"))
        if delta > 0 and wallet.available < delta:
            raise _insufficient(wallet, delta)
        if delta:
            changes.append((wallet, amount, delta))
    if not changes:
        return
    now = timezone.now()
    entries, holds, new_holds = [], [], []
    for wallet, amount, delta in changes:
        entries.append(_change(wallet, kind=LedgerKind.HOLD if delta > 0 else LedgerKind.RELEASE,
                               amount=Decimal("0.00"), held=delta, reference=reference, now=now))
        if wallet.hold_id is None:
            new_holds.append(WalletHold(wallet=wallet, reference=reference, amount=amount))
        elif amount == 0:
            holds.append(WalletHold(pk=wallet.hold_id, amount=wallet.hold_amount, status=HoldStatus.RELEASED, updated_at=now))
        else:
            holds.append(WalletHold(pk=wallet.hold_id, amount=amount, status=HoldStatus.ACTIVE, updated_at=now))
        wallet.hold_id, wallet.hold_amount = (None, None) if amount == 0 else (wallet.hold_id, amount)
    Wallet.objects.bulk_update([w for w, _, _ in changes], ["held_balance", "version", "updated_at"])
    LedgerEntry.objects.bulk_create(entries)
    if holds:
        WalletHold.objects.bulk_update(holds, ["amount", "status", "updated_at"])
    if new_holds:
        WalletHold.objects.bulk_create(new_holds)
        for hold in new_holds:
            hold.wallet.hold_id = hold.pk
    updated = [(USER_TOPIC.name(w.user_id), WalletUpdated.build(wallet_data(w))) for w, _, _ in changes]
    if events is None:
        publish_many(updated)
    else:
        events.extend(updated)


def wallet_release_hold(*, user, currency: str, reference: str) -> bool:
    """Release the user's active hold for ``reference``; False when there was none."""
    with transaction.atomic():
        _lock_one(user, currency)
        had = active_hold(user=user, currency=currency, reference=reference) is not None
        wallet_set_hold(user=user, currency=currency, reference=reference, amount=Decimal("0"))
        return had


def wallet_capture_hold(*, user, currency: str, reference: str, amount: Decimal, payment_reference: str,
                        kind: str = LedgerKind.PAYMENT) -> Wallet:
    """Pay ``amount`` out of the user's active hold for ``reference``: one ``kind`` entry
    (``payment``, or ``withdrawal`` for money leaving for a bank account) lowering both balance
    and held by ``amount``; any rest of the hold is released. Raises ``Conflict``
    ``no_active_hold`` when there is no such hold and ``insufficient_funds`` when the hold is
    smaller than ``amount``."""
    if kind not in (LedgerKind.PAYMENT, LedgerKind.WITHDRAWAL):
        raise ValueError(f"{kind} is not a capture")
    amount = validate_amount(amount)
    with transaction.atomic():
        wallet = _lock_one(user, currency)
        hold = WalletHold.objects.select_for_update().filter(
            wallet=wallet, reference=reference, status=HoldStatus.ACTIVE
        ).first()
        if hold is None:
            raise Conflict(f"No active hold for {reference}.", code="no_active_hold")
        if hold.amount < amount:
            raise _insufficient(wallet, amount)
        _apply(wallet, kind=kind, amount=-amount, held=-amount, reference=payment_reference)
        rest = hold.amount - amount
        if rest > 0:
            _apply(wallet, kind=LedgerKind.RELEASE, amount=Decimal("0.00"), held=-rest, reference=reference)
        hold.status = HoldStatus.CAPTURED
        hold.save(update_fields=["status", "updated_at"])
        return wallet


@dataclass(frozen=True)
class LedgerCheck:
    """Result of :func:`wallet_check_ledger`: the stored balances and the ledger sums."""

    balance: Decimal
    held_balance: Decimal
    ledger_balance: Decimal
    ledger_held: Decimal

    @property
    def ok(self) -> bool:
        return self.balance == self.ledger_balance and self.held_balance == self.ledger_held


def wallet_check_ledger(*, wallet: Wallet) -> LedgerCheck:
    """Compare a wallet's balances with the sums of its ledger (an audit; no lock)."""
    wallet.refresh_from_db()
    sums = LedgerEntry.objects.filter(wallet=wallet).aggregate(b=Sum("amount"), h=Sum("held_amount"))
    return LedgerCheck(wallet.balance, wallet.held_balance, sums["b"] or Decimal("0.00"), sums["h"] or Decimal("0.00"))
