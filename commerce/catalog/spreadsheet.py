"""The catalogue's spreadsheet format: one product per row, the same columns for import and
export (CSV, UTF-8, comma-separated, or XLSX, first sheet), so that an exported file imported
again changes nothing. tablib writes both and reads XLSX (through openpyxl); CSV is read by the
standard library's ``csv`` reader, which keeps blank lines (tablib drops them) so that line
numbers in the error report are the file's.

Columns (the header row names them, in any order and case; ``name``, ``sku``, ``price`` and
``category`` are required, a missing optional column leaves that field of existing products as
it is, an empty cell clears it):

===============  ==========================================================================
``sku``          the store's stock-keeping unit: the key of the upsert (1-64 characters)
``name``         1-200 characters
``description``  free text
``price``        decimal with at most two decimals, ``"12.50"`` (a dot; no thousands separators)
``currency``     ISO 4217, ``EUR`` when empty (cannot change on an existing product)
``stock``        whole number >= 0, 0 when empty
``category``     the category path from the root, ``Parts > Brakes > Discs`` (names, `` > ``)
``brand``        an existing brand's name (case-insensitive), empty for none
``attributes``   ``key=value;key=value``: a value that reads as JSON (``76``, ``true``,
                 ``["Golf VII","Golf VIII"]``, ``"a;b"``) is taken as JSON, any other as text
``images``       image URLs (``http(s)://``), separated by spaces, in display order
``tax_class``    ``standard`` (when empty), ``reduced`` or ``zero``
``weight_g``     grams of one packed unit, empty when unknown
``length_mm`` / ``width_mm`` / ``height_mm``  millimetres of one packed unit
``active``       ``true``/``false`` (also ``1``/``0``, ``yes``/``no``), ``true`` when empty
===============  ==========================================================================

Line numbers are a spreadsheet's: the header is line 1, the first product line 2 (a record
whose quoted cell spans several lines of a CSV counts once, as a spreadsheet shows it).

**Formula injection** (OWASP "CSV Injection"). A spreadsheet program runs a cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so a product name such
as ``=HYPERLINK(...)`` typed by anyone who can name a product would run on the machine of whoever
opens the export. :func:`write` prefixes such a text cell with ``'`` (OWASP's advice), and
:func:`read` takes the ``'`` off again, so an export imported back is still a no-op; a cell
already starting with ``'`` followed by one of those characters or another ``'`` gets one more
``'`` the same way, so every text survives the round trip. Only text columns are escaped: the
numeric ones (:data:`NUMERIC_COLUMNS`) hold numbers, which the import reads as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Iterator

import tablib

#: every column, in the order exports write them
COLUMNS = ("sku", "name", "description", "price", "currency", "stock", "category", "brand", "attributes", "images",
           "tax_class", "weight_g", "length_mm", "width_mm", "height_mm", "active")
REQUIRED = ("sku", "name", "price", "category")
#: columns holding numbers: written and read as they are, never escaped
NUMERIC_COLUMNS = frozenset({"price", "stock", "weight_g", "length_mm", "width_mm", "height_mm"})
#: a text cell starting with one of these is a formula to a spreadsheet program (OWASP)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
CATEGORY_SEPARATOR = " > "
TRUE_WORDS = {"true", "1", "yes", "y"}
FALSE_WORDS = {"false", "0", "no", "n"}


class SpreadsheetError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, a required column missing,
    an unknown column, too many rows)."""


@dataclass(frozen=True)
class Sheet:
    """A read file: ``columns`` (lower case, as the header names them) and its ``rows``, each
    ``(line, {column: text})`` with cells as stripped strings."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]


def detect_format(file_name: str, data: bytes) -> str:
    """``"xlsx"`` for a ZIP container (an XLSX file starts with ``PK\\x03\\x04``, whatever its
    name), else ``"csv"`` when the name ends in ``.csv`` or ``.txt`` or has no extension.
    Raises :class:`SpreadsheetError` for anything else (``.xls``, ``.ods``...)."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    name = (file_name or "").lower()
    if name.endswith((".csv", ".txt")) or "." not in name.rsplit("/", 1)[-1]:
        return "csv"
    raise SpreadsheetError("Upload a CSV (UTF-8) or an XLSX file.")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # XLSX numbers typed by hand
        value = int(value)
    return str(value).strip()


def escape_cell(text: str) -> str:
    """``text`` safe to open in a spreadsheet program: prefixed with ``'`` when it starts with a
    formula character (:data:`FORMULA_START`), or with ``'`` followed by one of those or another
    ``'`` (module docstring, "Formula injection"). :func:`unescape_cell` is its inverse."""
    if text and (text[0] in FORMULA_START or (text[0] == "'" and text[1:2] and text[1] in (*FORMULA_START, "'"))):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """The inverse of :func:`escape_cell`: one leading ``'`` is dropped when a formula character
    or another ``'`` follows it; any other text is returned as it is."""
    if text[:1] == "'" and text[1:2] and text[1] in (*FORMULA_START, "'"):
        return text[1:]
    return text


def read(data: bytes, file_format: str, *, max_rows: int) -> Sheet:
    """Parse ``data`` (``file_format`` ``csv`` or ``xlsx``). Raises :class:`SpreadsheetError`."""
    try:
        if file_format == "csv":
            # the standard library's reader, not tablib's loader: tablib drops blank lines, which
            # would shift every later line number of the error report
            book = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        elif file_format == "xlsx":
            book = tablib.Dataset().load(io.BytesIO(data), format="xlsx", headers=False)
        else:
            raise SpreadsheetError("Upload a CSV (UTF-8) or an XLSX file.")
    except UnicodeDecodeError:
        raise SpreadsheetError("A CSV file must be UTF-8 text.") from None
    except SpreadsheetError:
        raise
    except Exception as exc:  # tablib/openpyxl raise many kinds for a broken file
        raise SpreadsheetError(f"The file cannot be read as {file_format.upper()} ({type(exc).__name__}).") from None
    raw = [[_cell(v) for v in row] for row in book]
    if not raw or not any(raw[0]):
        raise SpreadsheetError("The first line must name the columns (sku, name, price, category, ...).")
    header = [h.lower() for h in raw[0]]
    while header and not header[-1]:
        header.pop()
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise SpreadsheetError(f"Unknown column {unknown[0]!r}; the columns are: {', '.join(COLUMNS)}.")
    if len(set(header)) != len(header):
        raise SpreadsheetError("A column is named twice.")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SpreadsheetError(f"Missing column {missing[0]!r} (required: {', '.join(REQUIRED)}).")
    rows = []
    for index, values in enumerate(raw[1:], start=2):
        if not any(values):
            continue  # blank lines are skipped, not errors
        cells = {col: values[i] if i < len(values) else "" for i, col in enumerate(header)}
        rows.append((index, {col: text if col in NUMERIC_COLUMNS else unescape_cell(text) for col, text in cells.items()}))
    if len(rows) > max_rows:
        raise SpreadsheetError(f"At most {max_rows} products per file; this one has {len(rows)}.")
    return Sheet(columns=tuple(header), rows=rows)


def write(rows: list[dict[str, str]], file_format: str) -> bytes:
    """``rows`` (``{column: text}``) as a file with every column of :data:`COLUMNS`, text cells
    escaped against formula injection (:func:`escape_cell`)."""
    book = tablib.Dataset(headers=list(COLUMNS))
    for row in rows:
        book.append([row.get(c, "") if c in NUMERIC_COLUMNS else escape_cell(row.get(c, "")) for c in COLUMNS])
    if file_format == "csv":
        return book.export("csv").encode("utf-8")
    if file_format == "xlsx":
        return book.export("xlsx")
    raise ValueError(f"unknown format {file_format!r}")


# --- cells ------------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be read: ``field`` names the column."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _split_attributes(text: str) -> Iterator[str]:
    """``text`` split at ``;`` outside double quotes and brackets."""
    depth, quoted, escaped, start = 0, False, False, 0
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[{":
            depth += 1
        elif not quoted and ch in "]}":
            depth -= 1
        elif ch == ";" and not quoted and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def parse_attributes(text: str) -> dict[str, Any]:
    """``"fits=[\\"Golf VII\\"];diameter_mm=76;colour=black"`` -> ``{"fits": ["Golf VII"],
    "diameter_mm": 76, "colour": "black"}`` (module docstring). Raises :class:`CellError`."""
    out: dict[str, Any] = {}
    for part in _split_attributes(text or ""):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise CellError("attributes", f"{part.strip()!r}: write attributes as key=value;key=value.")
        if key in out:
            raise CellError("attributes", f"Attribute {key!r} is given twice.")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def format_attributes(attributes: dict[str, Any]) -> str:
    """The inverse of :func:`parse_attributes`: text values that would read back as something
    else (JSON-looking, or holding ``;``) are written as JSON strings."""
    parts = []
    for key, value in (attributes or {}).items():
        if isinstance(value, str):
            try:
                json.loads(value)
                looks_json = True
            except ValueError:
                looks_json = False
            cell = json.dumps(value, ensure_ascii=False) if looks_json or ";" in value or value != value.strip() \
                else value
        else:
            cell = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        parts.append(f"{key}={cell}")
    return ";".join(parts)


def parse_bool(text: str, *, field: str = "active") -> bool:
    word = (text or "").strip().lower()
    if not word or word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(field, "Write true or false.")


def parse_int(text: str, *, field: str, nullable: bool) -> int | None:
    text = (text or "").strip()
    if not text:
        if nullable:
            return None
        return 0
    if not text.isdigit():
        raise CellError(field, "A whole number (digits only).")
    return int(text)


def parse_images(text: str) -> list[dict[str, Any]]:
    """Space-separated ``http(s)://`` URLs -> ``[{"url", "position"}]``. Raises :class:`CellError`."""
    urls = (text or "").split()
    for url in urls:
        if not url.lower().startswith(("http://", "https://")) or len(url) > 500:
            raise CellError("images", f"{url[:60]!r} is not an http(s) URL of at most 500 characters.")
    return [{"url": url, "position": i} for i, url in enumerate(urls)]
