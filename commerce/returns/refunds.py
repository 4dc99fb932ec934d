"""The refund of a return, as arithmetic: pure functions of ``Decimal`` amounts, no database.

Rules (README, "Returns"; the worked examples are ``tests/commerce/returns/test_refunds.py``):

1. **What was paid for the returned units** (:func:`paid_share`): the order line's total times
   ``quantity / line quantity``, rounded half-up to the cent; the last units of a line (this
   return completes what earlier refunded returns took of it) get what is left of the line
   total instead, so the shares of one line never add up to more, or less, than was paid for it.
2. **Per line, by the return's reason and the line's grade** (:func:`line_refund`):

   * the store's fault (``wrong_item``, ``damaged``, ``not_as_described``): the whole share,
     whatever the grade, except ``not_returned`` (nothing came back: nothing is refunded);
   * the buyer's side (``changed_mind``, ``other``): ``as_new`` and ``opened`` lines get the
     share less the restocking fee; ``damaged`` and ``not_returned`` lines get nothing (the
     buyer bears the loss of value, Directive 2011/83/EU art. 14(2)).

   The **restocking fee** (:func:`restocking_fee`) is ``share × percent / 100``, rounded
   half-up to the cent **per line**; the store chooses the percent, at most its policy's
   ``restocking_fee_max_percent``; none on the store's fault.
3. **The original shipping fee** (the order's ``shipping_total``) is refunded once per order,
   only by the return that completes the return of every unit of the order and only when that
   return refunds something: always on the store's fault, on the buyer's side when the store
   chooses ``refund_shipping``.
4. **Never more than the order's remaining refundable amount** (``total − refunded_total``,
   which other refunds and disputes may have lowered): the shipping refund gives way first,
   then the lines from the last one.

The outcome: ``refunded`` when every line got its whole share, ``partially_refunded`` when
something but less was refunded, ``rejected_after_inspection`` when nothing was.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from commerce.common.money import CENT
from commerce.returns.models import STORE_FAULT_REASONS, ReturnGrade, ReturnStatus

ZERO = Decimal("0.00")

#: grades refunded on the buyer's side (less the restocking fee)
BUYER_SIDE_REFUNDED_GRADES = frozenset({ReturnGrade.AS_NEW, ReturnGrade.OPENED})


def half_up(value: Decimal) -> Decimal:
    """``value`` rounded half-up to the cent (``2.675 -> 2.68``, ``2.665 -> 2.67``)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def paid_share(*, line_total: Decimal, line_quantity: int, quantity: int, earlier_quantity: int = 0,
               earlier_paid: Decimal = ZERO) -> Decimal:
    """What the buyer paid for ``quantity`` of a line's ``line_quantity`` units
    (``line_total`` for all of them), given that earlier returns already took the shares of
    ``earlier_quantity`` units worth ``earlier_paid``. The last units take the rest. Raises
    ``ValueError`` for more units than the line has."""
    if quantity < 1 or earlier_quantity < 0 or quantity + earlier_quantity > line_quantity:
        raise ValueError(f"{quantity} + {earlier_quantity} units of a line of {line_quantity}")
    if quantity + earlier_quantity == line_quantity:
        return line_total - earlier_paid
    return half_up(line_total * quantity / line_quantity)


def restocking_fee(*, amount: Decimal, percent: Decimal) -> Decimal:
    """``amount × percent / 100`` rounded half-up to the cent (never more than ``amount``)."""
    return min(amount, half_up(amount * percent / Decimal(100)))


@dataclass(frozen=True)
class LineInput:
    """One returned line: ``key`` (the caller's id), what its units cost (``paid``, from
    :func:`paid_share`) and the inspection ``grade``."""

    key: Any
    paid: Decimal
    grade: str


@dataclass(frozen=True)
class LineRefund:
    """The refund of one line: ``paid`` (its share), ``restocking_fee``, ``refund``."""

    key: Any
    paid: Decimal
    restocking_fee: Decimal
    refund: Decimal


@dataclass(frozen=True)
class RefundPlan:
    """What a return refunds: its ``lines``, ``shipping`` (the original shipping fee, or 0),
    ``total`` (lines + shipping) and ``outcome`` (``refunded``, ``partially_refunded``,
    ``rejected_after_inspection``). ``capped`` when rule 4 lowered it."""

    lines: tuple[LineRefund, ...]
    shipping: Decimal
    total: Decimal
    outcome: str
    capped: bool


def line_refund(*, reason: str, line: LineInput, fee_percent: Decimal) -> LineRefund:
    """Rule 2 of the module docstring for one line."""
    if reason in STORE_FAULT_REASONS:
        refund = ZERO if line.grade == ReturnGrade.NOT_RETURNED else line.paid
        return LineRefund(line.key, line.paid, ZERO, refund)
    if line.grade not in BUYER_SIDE_REFUNDED_GRADES:
        return LineRefund(line.key, line.paid, ZERO, ZERO)
    fee = restocking_fee(amount=line.paid, percent=fee_percent)
    return LineRefund(line.key, line.paid, fee, line.paid - fee)


def plan_refund(*, reason: str, lines: Iterable[LineInput], fee_percent: Decimal = ZERO,
                refund_shipping: bool = False, shipping_total: Decimal = ZERO, completes_order: bool = False,
                refundable: Decimal) -> RefundPlan:
    """The whole refund of a return (rules 2–4): ``fee_percent`` is the store's restocking fee
    (ignored on the store's fault), ``refund_shipping`` its choice about the shipping fee on the
    buyer's side, ``shipping_total`` the order's shipping fee when it has not been refunded yet
    (else 0), ``completes_order`` whether this return completes the return of every unit of the
    order, ``refundable`` what the order still has to refund."""
    fault = reason in STORE_FAULT_REASONS
    planned = [line_refund(reason=reason, line=line, fee_percent=ZERO if fault else fee_percent) for line in lines]
    line_sum = sum((p.refund for p in planned), ZERO)
    shipping = ZERO
    if completes_order and line_sum > 0 and (fault or refund_shipping):
        shipping = shipping_total
    capped = False
    excess = line_sum + shipping - max(refundable, ZERO)
    if excess > 0:
        capped = True
        taken = min(shipping, excess)
        shipping -= taken
        excess -= taken
        for i in range(len(planned) - 1, -1, -1):
            if excess <= 0:
                break
            p = planned[i]
            taken = min(p.refund, excess)
            planned[i] = LineRefund(p.key, p.paid, p.restocking_fee, p.refund - taken)
            excess -= taken
    total = sum((p.refund for p in planned), ZERO) + shipping
    paid = sum((p.paid for p in planned), ZERO)
    if total <= 0:
        outcome = ReturnStatus.REJECTED_AFTER_INSPECTION
    elif all(p.refund == p.paid for p in planned) and total >= paid:
        outcome = ReturnStatus.REFUNDED
    else:
        outcome = ReturnStatus.PARTIALLY_REFUNDED
    return RefundPlan(lines=tuple(planned), shipping=shipping, total=total, outcome=outcome, capped=capped)
