"""The refund arithmetic of a return (``commerce.returns.refunds``), on examples computed by hand:
the share of a line a return takes (the last units take what is left), the restocking fee
rounded half-up to the cent per line, the refund by reason and grade, the shipping fee, and the
cap at what the order can still refund."""

from decimal import Decimal as D

import pytest

from commerce.returns.refunds import LineInput, half_up, paid_share, plan_refund, restocking_fee


@pytest.mark.parametrize(("line_total", "line_qty", "qty", "earlier_qty", "earlier_paid", "share"), [
    # line total / units bought / returned now / taken before (units, paid) -> share
    ("30.00", 3, 1, 0, "0.00", "10.00"),   # 30 / 3
    ("10.00", 3, 1, 0, "0.00", "3.33"),    # 3.333… -> 3.33
    ("10.00", 3, 2, 0, "0.00", "6.67"),    # 6.666… -> 6.67
    ("10.00", 3, 1, 2, "6.67", "3.33"),    # the last unit: 10.00 - 6.67
    ("10.00", 3, 2, 1, "3.33", "6.67"),    # the last two: 10.00 - 3.33
    ("10.00", 3, 3, 0, "0.00", "10.00"),   # all of it
    ("0.05", 2, 1, 0, "0.00", "0.03"),     # 0.025 -> 0.03 (half-up; half-even would give 0.02)
    ("0.05", 2, 1, 1, "0.03", "0.02"),     # the rest: 0.05 - 0.03
    ("9.99", 2, 1, 0, "0.00", "5.00"),     # 4.995 -> 5.00
])
def test_the_share_of_a_line_is_rounded_half_up_and_the_last_units_take_the_rest(
        line_total, line_qty, qty, earlier_qty, earlier_paid, share):
    assert paid_share(line_total=D(line_total), line_quantity=line_qty, quantity=qty, earlier_quantity=earlier_qty,
                      earlier_paid=D(earlier_paid)) == D(share)


def test_shares_of_one_line_never_add_up_to_more_or_less_than_it():
    for total, units in [("10.00", 3), ("0.05", 2), ("9.99", 7), ("100.01", 6)]:
        for split in ([1] * units, [units], [2, units - 2] if units > 2 else [units]):
            taken, paid = 0, D("0.00")
            for qty in split:
                paid += paid_share(line_total=D(total), line_quantity=units, quantity=qty, earlier_quantity=taken,
                                   earlier_paid=paid)
                taken += qty
            assert paid == D(total), (total, split)


def test_more_units_than_the_line_has_is_a_programming_error():
    with pytest.raises(ValueError):
        paid_share(line_total=D("10.00"), line_quantity=3, quantity=2, earlier_quantity=2)


@pytest.mark.parametrize(("amount", "percent", "fee"), [
    ("19.99", "15", "3.00"),    # 2.9985 -> 3.00
    ("10.00", "12.5", "1.25"),  # exact
    ("3.33", "15", "0.50"),     # 0.4995 -> 0.50
    ("0.10", "25", "0.03"),     # 0.025 -> 0.03 (half-up; half-even would give 0.02)
    ("2.10", "12.5", "0.26"),   # 0.2625 -> 0.26
    ("5.00", "100", "5.00"),
    ("5.00", "0", "0.00"),
])
def test_the_restocking_fee_is_rounded_half_up_to_the_cent(amount, percent, fee):
    assert restocking_fee(amount=D(amount), percent=D(percent)) == D(fee)
    assert half_up(D("2.675")) == D("2.68") and half_up(D("2.665")) == D("2.67")


def lines(*specs):
    return [LineInput(key=i, paid=D(paid), grade=grade) for i, (paid, grade) in enumerate(specs)]


# reason, lines (paid, grade), fee %, refund_shipping, shipping fee, completes the order, order's refundable
#   -> line refunds, fees, shipping refunded, total, outcome
PLANS = [
    # A. the store's fault: every line in full whatever the grade (no fee even if asked), and the
    #    shipping fee of a whole-order return: 30.00 + 9.98 + 4.90
    ("damaged", [("30.00", "as_new"), ("9.98", "damaged")], "20", False, "4.90", True, "100.00",
     ["30.00", "9.98"], ["0.00", "0.00"], "4.90", "44.88", "refunded"),
    # B. the store's fault, but one line never came back: 30.00 + shipping 4.90
    ("wrong_item", [("30.00", "as_new"), ("9.98", "not_returned")], "0", False, "4.90", True, "100.00",
     ["30.00", "0.00"], ["0.00", "0.00"], "4.90", "34.90", "partially_refunded"),
    # C. changed mind, 15 % fee per line: 19.99 - 3.00; 3.33 - 0.50; a damaged line gets nothing
    ("changed_mind", [("19.99", "opened"), ("3.33", "as_new"), ("5.00", "damaged")], "15", True, "4.90", False,
     "100.00", ["16.99", "2.83", "0.00"], ["3.00", "0.50", "0.00"], "0.00", "19.82", "partially_refunded"),
    # D. changed mind, no fee, the store refunds the shipping of the whole order: 30.00 + 4.90
    ("changed_mind", [("30.00", "as_new")], "0", True, "4.90", True, "100.00",
     ["30.00"], ["0.00"], "4.90", "34.90", "refunded"),
    # E. changed mind, the store keeps the shipping fee: the lines are still refunded in full
    ("changed_mind", [("30.00", "opened")], "0", False, "4.90", True, "100.00",
     ["30.00"], ["0.00"], "0.00", "30.00", "refunded"),
    # F. changed mind, nothing resellable came back: nothing, not even the shipping fee
    ("changed_mind", [("30.00", "damaged"), ("9.98", "not_returned")], "0", True, "4.90", True, "100.00",
     ["0.00", "0.00"], ["0.00", "0.00"], "0.00", "0.00", "rejected_after_inspection"),
    # G. the order can refund only 35.00 (a dispute refunded part): shipping gives way first
    #    (44.88 - 35.00 = 9.88: 4.90 of shipping, then 4.98 of the last line: 9.98 -> 5.00)
    ("not_as_described", [("30.00", "as_new"), ("9.98", "opened")], "0", False, "4.90", True, "35.00",
     ["30.00", "5.00"], ["0.00", "0.00"], "0.00", "35.00", "partially_refunded"),
    # H. "other" follows the buyer's side: 10 % of 0.10 is 0.01
    ("other", [("0.10", "as_new")], "10", False, "0.00", False, "100.00",
     ["0.09"], ["0.01"], "0.00", "0.09", "partially_refunded"),
    # I. half-up per line: 25 % of 0.10 = 0.025 -> 0.03 on each line (0.05 on the sum would be 0.05)
    ("changed_mind", [("0.10", "as_new"), ("0.10", "opened")], "25", False, "0.00", False, "100.00",
     ["0.07", "0.07"], ["0.03", "0.03"], "0.00", "0.14", "partially_refunded"),
    # J. not the whole order: no shipping refund even on the store's fault
    ("damaged", [("12.50", "damaged")], "0", False, "4.90", False, "100.00",
     ["12.50"], ["0.00"], "0.00", "12.50", "refunded"),
]


@pytest.mark.parametrize(("reason", "specs", "fee", "refund_shipping", "shipping", "completes", "refundable",
                          "refunds", "fees", "shipped", "total", "outcome"), PLANS)
def test_the_refund_follows_the_reason_the_grade_the_fee_and_the_shipping(
        reason, specs, fee, refund_shipping, shipping, completes, refundable, refunds, fees, shipped, total, outcome):
    plan = plan_refund(reason=reason, lines=lines(*specs), fee_percent=D(fee), refund_shipping=refund_shipping,
                       shipping_total=D(shipping), completes_order=completes, refundable=D(refundable))
    assert [str(p.refund) for p in plan.lines] == refunds
    assert [str(p.restocking_fee) for p in plan.lines] == fees
    assert (str(plan.shipping), str(plan.total), plan.outcome) == (shipped, total, outcome)
    assert all(p.refund <= p.paid for p in plan.lines)
    assert plan.total <= D(refundable)
    assert plan.capped == (reason == "not_as_described")
