"""The catalogue's spreadsheet format (``commerce.catalog.spreadsheet``): text cells that a
spreadsheet program would run as a formula are written with a leading ``'`` and read back
without it, numeric columns are left alone, and every text survives the round trip."""

from __future__ import annotations

import io

import openpyxl
import pytest

from commerce.catalog import spreadsheet

TEXTS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1 555 0100", "-40 °C antifreeze", "-5", "@SUM(A1)",
         "\tTabbed", "\rCarriage", "'=already escaped", "''=two", "'plain apostrophe", "'", "'-", "plain",
         "a=b", "", "Brake disc - front"]


@pytest.mark.parametrize("text", TEXTS)
def test_every_text_survives_escape_then_unescape(text):
    assert spreadsheet.unescape_cell(spreadsheet.escape_cell(text)) == text


def test_only_cells_a_spreadsheet_would_run_are_escaped():
    escaped = {t: spreadsheet.escape_cell(t) for t in TEXTS}
    assert [t for t in TEXTS if escaped[t] != t] == [
        "=HYPERLINK(\"http://evil.example\",\"x\")", "+1 555 0100", "-40 °C antifreeze", "-5", "@SUM(A1)", "\tTabbed",
        "\rCarriage", "'=already escaped", "''=two", "'-"]
    assert all(escaped[t] == "'" + t for t in TEXTS if escaped[t] != t)
    # hand-written cells: an apostrophe before a formula character is the spreadsheet's own escape
    assert spreadsheet.unescape_cell("'=1+1") == "=1+1"
    assert spreadsheet.unescape_cell("'plain") == "'plain"


ROW = {"sku": "-5", "name": "=cmd|' /C calc'!A0", "description": "@risk\nsecond line", "price": "12.50",
       "stock": "3", "category": "+Parts", "attributes": "temp_min=-40", "weight_g": "900"}


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_written_file_reads_back_the_same_and_numbers_stay_numbers(file_format):
    data = spreadsheet.write([ROW], file_format)
    sheet = spreadsheet.read(data, file_format, max_rows=10)
    (line, row), = sheet.rows
    assert line == 2 and {k: v for k, v in row.items() if v} == ROW


def test_an_xlsx_export_holds_text_where_a_formula_was_typed():
    book = openpyxl.load_workbook(io.BytesIO(spreadsheet.write([ROW], "xlsx")))
    header, values = [[(c.value, c.data_type) for c in r] for r in book.active.iter_rows()]
    cells = {name: value for (name, _), value in zip(header, values)}
    assert cells["name"] == ("'=cmd|' /C calc'!A0", "s")
    assert cells["sku"] == ("'-5", "s") and cells["category"] == ("'+Parts", "s")
    assert cells["description"] == ("'@risk\nsecond line", "s")
    assert cells["price"] == ("12.50", "s") and cells["attributes"] == ("temp_min=-40", "s")


def test_a_csv_export_starts_no_cell_with_a_formula_character():
    data = spreadsheet.write([ROW], "csv").decode()
    assert data.splitlines()[1].startswith("'-5,'=cmd|' /C calc'!A0,")
