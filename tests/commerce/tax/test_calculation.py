"""Tax arithmetic against hand-computed examples: per line, half-up to cents, prices with and
without tax, net + tax = gross on every line, and the split of an amount over rates."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from commerce.tax.calculation import Taxed, round_half_up, split_amount, tax_line, totals_by_rate


@pytest.mark.parametrize("amount,rate,net,tax", [
    ("11.90", "19.00", "10.00", "1.90"),    # 11.90 x 19/119 = 1.90 exactly
    ("10.00", "19.00", "8.40", "1.60"),     # 1.5966.. -> 1.60
    ("25.00", "19.00", "21.01", "3.99"),    # 3.9915.. -> 3.99
    ("14.97", "7.00", "13.99", "0.98"),     # 0.9793.. -> 0.98
    ("0.05", "19.00", "0.04", "0.01"),      # 0.0079.. -> 0.01
    ("0.03", "20.00", "0.02", "0.01"),      # 0.005 exactly: half-up gives 0.01 (half-even would give 0.00)
    ("9.99", "0.00", "9.99", "0.00"),
])
def test_tax_included_in_a_price_is_rounded_half_up_per_line(amount, rate, net, tax):
    line = tax_line(D(amount), D(rate), includes_tax=True)
    assert (line.net, line.tax, line.gross) == (D(net), D(tax), D(amount))
    assert line.net + line.tax == line.gross


@pytest.mark.parametrize("amount,rate,tax,gross", [
    ("25.00", "19.00", "4.75", "29.75"),
    ("14.97", "7.00", "1.05", "16.02"),     # 1.0479 -> 1.05
    ("4.90", "19.00", "0.93", "5.83"),      # 0.931 -> 0.93
    ("0.25", "10.00", "0.03", "0.28"),      # 0.025 exactly: half-up 0.03 (half-even 0.02)
    ("0.50", "5.50", "0.03", "0.53"),       # 0.0275 -> 0.03
])
def test_tax_added_to_a_net_price_is_rounded_half_up_per_line(amount, rate, tax, gross):
    line = tax_line(D(amount), D(rate), includes_tax=False)
    assert (line.net, line.tax, line.gross) == (D(amount), D(tax), D(gross))


def test_rounding_per_line_differs_from_rounding_the_total_and_the_lines_win():
    lines = [tax_line(D("0.05"), D("19.00"), includes_tax=True) for _ in range(3)]
    assert sum(line.tax for line in lines) == D("0.03")
    assert tax_line(D("0.15"), D("19.00"), includes_tax=True).tax == D("0.02")  # what rounding the total would give


def test_round_half_up_goes_away_from_zero():
    assert (round_half_up(D("0.125")), round_half_up(D("-0.125")), round_half_up(D("0.1249"))) == (
        D("0.13"), D("-0.13"), D("0.12"))


def test_refused_amounts_and_rates():
    for amount, rate in (("-0.01", "19"), ("1.00", "100"), ("1.00", "-1")):
        with pytest.raises(ValueError):
            tax_line(D(amount), D(rate), includes_tax=True)


def test_totals_by_rate_sum_each_rate_highest_first():
    lines = [Taxed(D("21.01"), D("3.99"), D("25.00"), D("19.00")), Taxed(D("13.99"), D("0.98"), D("14.97"), D("7.00")),
             Taxed(D("4.12"), D("0.78"), D("4.90"), D("19.00")), Taxed(D("9.99"), D("0.00"), D("9.99"), D("0.00"))]
    assert [(r.rate, r.net, r.tax, r.gross) for r in totals_by_rate(lines)] == [
        (D("19.00"), D("25.13"), D("4.77"), D("29.90")), (D("7.00"), D("13.99"), D("0.98"), D("14.97")),
        (D("0.00"), D("9.99"), D("0.00"), D("9.99"))]


@pytest.mark.parametrize("amount,weights,parts", [
    ("10.00", ["1", "1", "1"], ["3.34", "3.33", "3.33"]),
    ("5.00", ["30", "10"], ["3.75", "1.25"]),
    ("0.01", ["1", "1"], ["0.01", "0.00"]),
    ("7.00", ["0", "2"], ["0.00", "7.00"]),
])
def test_split_amount_adds_up_to_the_cent(amount, weights, parts):
    got = split_amount(D(amount), [D(w) for w in weights])
    assert got == [D(p) for p in parts] and sum(got) == D(amount)


def test_split_amount_needs_a_weight():
    with pytest.raises(ValueError):
        split_amount(D("1.00"), [D("0"), D("0")])
