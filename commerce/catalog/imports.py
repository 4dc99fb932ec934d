"""Catalogue import and export: a store loads its products from a spreadsheet
(:mod:`commerce.catalog.spreadsheet`) in a Celery job, and downloads them in the same format.

**Per row, not per file.** Each row is applied on its own (one product write in its own
savepoint, through :func:`commerce.catalog.services.product_create` /
:func:`~commerce.catalog.services.product_update`, so price and stock history, cart refreshes
and every check are the same as over the API). A bad row is reported (line, SKU, column,
message) and the rest go in. Why not all-or-nothing per file: a supplier's file of thousands of
lines with a few typos should not hold back the good lines, and a store re-runs the file after
fixing those lines: the upsert by SKU makes that safe, because rows already in place are
*unchanged* (no write, no history row, no cart refresh), so only the fixed lines change. The
report says exactly which lines did not go in, so nothing is half-known. The rows are committed
in chunks of :data:`PROGRESS_EVERY` (one transaction per chunk, a savepoint per row: a refused
row leaves nothing behind); a chunk holds its products' row locks until it commits. The time goes
into the product services themselves (about ten queries per new product): 10,000 new rows take
minutes on a shared 2-core machine, a re-run seconds (``bench/results/catalog_import.md``).

**Upsert by SKU.** A row whose SKU the store has (a live product) updates only the fields that
differ; one it does not have creates a product. Running the same file twice changes nothing the
second time (every row ``unchanged``); exporting and importing the export changes nothing.

**Progress.** The job publishes ``catalog_import.progress`` on the store's ``vendor:`` topic
(``commerce.catalog.events``) when it starts, every :data:`PROGRESS_EVERY` rows and when it
ends: rows done of the total, created, updated, unchanged, errors so far.

Who: the store's owners and managers (``commerce.stores.permissions.MANAGING_ROLES``) upload,
and the rows are written as them, with the product services' own checks; they and marketplace
admins read the imports and export the catalogue (``vendor_get_managed``).

Refusals at upload (nothing is queued): ``NotFound`` ``vendor_not_found`` / ``Forbidden``
``store_settings_not_allowed`` (``commerce.stores.selectors.vendor_get_managed``: the store's
owners and managers, marketplace admins), ``Forbidden`` ``not_vendor`` (a marketplace admin who
is not on the store's staff, or a store that is not active:
``commerce.stores.permissions.can_manage_products``), ``ApplicationError`` ``invalid_file``
(empty, too large, not CSV/XLSX).
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import tablib
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Forbidden, NotFound
from realtime.outbox import publish

from commerce.catalog import spreadsheet
from commerce.catalog.events import CatalogImportProgress
from commerce.catalog.models import Brand, CatalogImport, CatalogImportStatus, Category, Product
from commerce.catalog.services import product_create, product_update
from commerce.catalog.spreadsheet import CellError, SpreadsheetError
from commerce.common.money import DEFAULT_CURRENCY
from commerce.stores.events import VENDOR_TOPIC
from commerce.stores.permissions import can_manage_products
from commerce.stores.selectors import vendor_get_managed

logger = logging.getLogger(__name__)

#: a progress event every this many rows (and at the start and the end)
PROGRESS_EVERY = 250

#: the product fields a row sets, besides images (compared one by one for the upsert)
SCALAR_FIELDS = ("name", "description", "price", "currency", "stock", "category_id", "brand_id", "attributes",
                 "tax_class", "weight_g", "length_mm", "width_mm", "height_mm", "is_active")

#: which column sets which field
COLUMN_OF = {"name": "name", "description": "description", "price": "price", "currency": "currency",
             "stock": "stock", "category_id": "category", "brand_id": "brand", "attributes": "attributes",
             "tax_class": "tax_class", "weight_g": "weight_g", "length_mm": "length_mm", "width_mm": "width_mm",
             "height_mm": "height_mm", "is_active": "active", "images": "images"}


def max_bytes() -> int:
    """The largest file accepted (``CATALOG_IMPORT_MAX_BYTES``, default 10 MB)."""
    return int(getattr(settings, "CATALOG_IMPORT_MAX_BYTES", 10 * 1024 * 1024))


def max_rows() -> int:
    """The most product lines per file (``CATALOG_IMPORT_MAX_ROWS``, default 50,000)."""
    return int(getattr(settings, "CATALOG_IMPORT_MAX_ROWS", 50_000))


# --- upload ----------------------------------------------------------------------------------


def catalog_import_start(*, user, vendor_id: Any, file_name: str, data: bytes) -> CatalogImport:
    """Keep the uploaded file (``data``, ``file_name``) of store ``vendor_id`` and queue its
    job (after commit). Returns the ``queued`` import. Refusals: module docstring."""
    vendor = vendor_get_managed(user=user, vendor_id=vendor_id)
    if not can_manage_products(user, vendor):
        raise Forbidden("Only the owners and managers of an active store load its catalogue.", code="not_vendor")
    if not data:
        raise ApplicationError("The file is empty.", code="invalid_file")
    if len(data) > max_bytes():
        raise ApplicationError(f"The file is larger than {max_bytes() // (1024 * 1024)} MB.", code="invalid_file")
    try:
        file_format = spreadsheet.detect_format(file_name, data)
    except SpreadsheetError as exc:
        raise ApplicationError(str(exc), code="invalid_file") from None
    with transaction.atomic():
        job = CatalogImport.objects.create(vendor=vendor, created_by=user, file_name=(file_name or "upload")[:200],
                                           file_format=file_format, source=data)
        job_id = str(job.pk)
        transaction.on_commit(lambda: _queue(job_id), robust=True)
    return job


def _queue(job_id: str) -> None:
    from commerce.catalog.tasks import run_catalog_import  # cycle-breaker: the task module imports this one

    run_catalog_import.delay(job_id)


# --- the job ---------------------------------------------------------------------------------


def category_paths() -> dict[str, int]:
    """``{"parts > brakes > discs": id}`` for every category (lower case, :data:`spreadsheet.CATEGORY_SEPARATOR`)."""
    rows = {c.id: c for c in Category.objects.only("id", "name", "parent_id")}

    def path(cid: int) -> str:
        names, seen = [], set()
        while cid is not None and cid not in seen:
            seen.add(cid)
            names.append(rows[cid].name)
            cid = rows[cid].parent_id
        return spreadsheet.CATEGORY_SEPARATOR.join(reversed(names))

    return {path(cid): cid for cid in rows}


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise CellError("price", 'A decimal number such as "12.50" (a dot, no thousands separator).') from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise CellError("price", "An amount of 0.00 or more with at most two decimals.")
    return value.quantize(Decimal("0.01"))


def row_fields(row: dict[str, str], *, categories: dict[str, int], brands: dict[str, int]) -> dict[str, Any]:
    """The product fields a row sets (only its columns'). ``categories``: ``{lower-case path:
    id}``; ``brands``: ``{lower-case name: id}``. Raises :class:`CellError`."""
    out: dict[str, Any] = {}
    if "name" in row:
        out["name"] = row["name"]
    if "description" in row:
        out["description"] = row["description"]
    if "price" in row:
        out["price"] = _decimal(row["price"])
    if "currency" in row:
        out["currency"] = (row["currency"] or DEFAULT_CURRENCY).upper()
    if "stock" in row:
        out["stock"] = spreadsheet.parse_int(row["stock"], field="stock", nullable=False)
    if "category" in row:
        path = spreadsheet.CATEGORY_SEPARATOR.join(p.strip() for p in row["category"].split(">"))
        key = categories.get(path.lower()) if path else None
        if key is None:
            raise CellError("category", f"No category {row['category']!r}; write its path, e.g. 'Parts > Brakes'.")
        out["category_id"] = key
    if "brand" in row:
        name = row["brand"].strip().lower()
        if name and name not in brands:
            raise CellError("brand", f"No brand {row['brand']!r}.")
        out["brand_id"] = brands.get(name) if name else None
    if "attributes" in row:
        out["attributes"] = spreadsheet.parse_attributes(row["attributes"])
    if "images" in row:
        out["images"] = spreadsheet.parse_images(row["images"])
    if "tax_class" in row:
        out["tax_class"] = row["tax_class"].lower() or "standard"
    for field in ("weight_g", "length_mm", "width_mm", "height_mm"):
        if field in row:
            out[field] = spreadsheet.parse_int(row[field], field=field, nullable=True)
    if "active" in row:
        out["is_active"] = spreadsheet.parse_bool(row["active"])
    return out


def changes_for(product: Product, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``fields`` that differ from ``product`` (images compared as URL lists).
    Raises :class:`CellError` for a currency change (a product's currency is fixed)."""
    changes = {f: v for f, v in fields.items() if f != "images" and getattr(product, f) != v}
    if "currency" in changes:
        raise CellError("currency", f"The product is priced in {product.currency}; its currency cannot change.")
    if "images" in fields and [i["url"] for i in fields["images"]] != [i.url for i in product.images.all()]:
        changes["images"] = fields["images"]
    return changes


def _error(line: int, sku: str, field: str, message: str) -> dict[str, Any]:
    return {"line": line, "sku": sku, "field": field, "message": message}


def _error_of(exc: ApplicationError) -> tuple[str, str]:
    """(column, message) of a service's refusal."""
    fields = exc.fields or {}
    if fields:
        field = next(iter(fields))
        messages = fields[field]
        message = messages[0] if isinstance(messages, list) and messages else str(messages)
        return COLUMN_OF.get(field, field), str(message)
    return ("sku" if exc.code == "sku_taken" else ""), str(exc.detail)


def _write_row(job: CatalogImport, user, line: int, row: dict[str, str], existing: dict[str, Product],
               seen: set[str], tables: dict[str, dict]) -> str:
    """One row: ``"created"``, ``"updated"`` or ``"unchanged"``. Raises :class:`CellError` or the
    product services' ``ApplicationError`` for a bad row."""
    sku = row.get("sku", "")
    if not sku:
        raise CellError("sku", "Every row needs a SKU.")
    if sku in seen:
        raise CellError("sku", "This SKU is on an earlier line of the file.")
    seen.add(sku)
    fields = row_fields(row, categories=tables["categories"], brands=tables["brands"])
    product = existing.get(sku)
    if product is None:
        existing[sku] = product_create(user=user, vendor_id=job.vendor_id, sku=sku, **fields)
        return "created"
    changes = changes_for(product, fields)
    if not changes:
        return "unchanged"
    existing[sku] = product_update(user=user, product_id=product.pk, **changes)
    return "updated"


def _apply_row(job: CatalogImport, user, line: int, row: dict[str, str], existing: dict[str, Product],
               seen: set[str], tables: dict[str, dict]) -> tuple[str, dict[str, Any] | None]:
    """One row in its own savepoint (a refused row leaves nothing behind): ``(outcome, None)``
    or ``("error", report line)``."""
    sku = row.get("sku", "")
    try:
        with transaction.atomic():
            return _write_row(job, user, line, row, existing, seen, tables), None
    except CellError as exc:
        return "error", _error(line, sku, exc.field, str(exc))
    except ApplicationError as exc:
        field, message = _error_of(exc)
        return "error", _error(line, sku, field, message)
    except DatabaseError as exc:  # a value the database refuses that no check caught
        logger.warning("catalog import %s line %s: %s", job.pk, line, exc)
        return "error", _error(line, sku, "", "The row could not be saved.")


def _progress(job: CatalogImport) -> None:
    """Save the counters and announce them on the store's desk (after commit)."""
    with transaction.atomic():
        CatalogImport.objects.filter(pk=job.pk).update(
            status=job.status, detail=job.detail, total_rows=job.total_rows, rows_done=job.rows_done,
            created=job.created, updated=job.updated, unchanged=job.unchanged, error_count=job.error_count,
            errors=job.errors, started_at=job.started_at, finished_at=job.finished_at)
        publish(topic=VENDOR_TOPIC.name(job.vendor_id), event=CatalogImportProgress.build(job=job))


def _claim(import_id: Any) -> CatalogImport | None:
    """The queued import, moved to ``running`` under its row lock (a job delivered twice runs
    once); None when it is unknown or not queued any more."""
    with transaction.atomic():
        job = CatalogImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.status != CatalogImportStatus.QUEUED:
            return None
        job.status, job.started_at = CatalogImportStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
        return job


def catalog_import_run(*, import_id: Any) -> CatalogImport | None:
    """Run a queued import (the Celery job ``commerce.tasks.run_catalog_import``): read the
    file, apply each row (module docstring), keep the counters and the error report, publish
    progress. Returns the finished import (``done``, or ``failed`` when the file cannot be read
    at all: ``detail`` says why); None when there was nothing to run."""
    job = _claim(import_id)
    if job is None:
        return None
    user = job.created_by
    try:
        sheet = spreadsheet.read(bytes(job.source), job.file_format, max_rows=max_rows())
    except SpreadsheetError as exc:
        job.status, job.detail, job.finished_at = CatalogImportStatus.FAILED, str(exc)[:500], timezone.now()
        _progress(job)
        return job
    job.total_rows = len(sheet.rows)
    _progress(job)
    existing = {p.sku: p for p in Product.objects.alive().filter(vendor_id=job.vendor_id).prefetch_related("images")}
    tables = {"categories": {path.lower(): cid for path, cid in category_paths().items()},
              "brands": {name.lower(): bid for bid, name in Brand.objects.values_list("id", "name")}}
    seen: set[str] = set()
    for start in range(0, len(sheet.rows), PROGRESS_EVERY):
        with transaction.atomic():  # one commit per chunk, a savepoint per row (module docstring)
            for line, row in sheet.rows[start:start + PROGRESS_EVERY]:
                outcome, error = _apply_row(job, user, line, row, existing, seen, tables)
                job.rows_done += 1
                if error is not None:
                    job.error_count += 1
                    job.errors.append(error)
                else:
                    setattr(job, outcome, getattr(job, outcome) + 1)
        if job.rows_done < job.total_rows:
            _progress(job)
    job.status, job.finished_at = CatalogImportStatus.DONE, timezone.now()
    _progress(job)
    logger.info("catalog import %s of store %s: %s rows, %s created, %s updated, %s unchanged, %s errors",
                job.pk, job.vendor_id, job.total_rows, job.created, job.updated, job.unchanged, job.error_count)
    return job


# --- reads -----------------------------------------------------------------------------------


def catalog_import_get(*, user, vendor_id: Any, import_id: Any) -> CatalogImport:
    """An import of the store if ``user`` manages it. Raises ``NotFound`` ``import_not_found``
    (and what ``vendor_get_managed`` raises)."""
    vendor = vendor_get_managed(user=user, vendor_id=vendor_id)
    try:
        iid = uuid.UUID(str(import_id))
    except ValueError:
        raise NotFound("Import not found.", code="import_not_found") from None
    job = CatalogImport.objects.defer("source").filter(pk=iid, vendor=vendor).first()
    if job is None:
        raise NotFound("Import not found.", code="import_not_found")
    return job


def catalog_imports_of(*, user, vendor_id: Any) -> list[CatalogImport]:
    """The store's last 50 imports, newest first (for its owners and managers)."""
    vendor = vendor_get_managed(user=user, vendor_id=vendor_id)
    return list(CatalogImport.objects.defer("source", "errors").filter(vendor=vendor).order_by("-created_at")[:50])


def error_report(job: CatalogImport) -> bytes:
    """The per-row error report as CSV (UTF-8): ``line,sku,field,message``."""
    book = tablib.Dataset(headers=["line", "sku", "field", "message"])
    for e in job.errors:
        book.append([e["line"], e["sku"], e["field"], e["message"]])
    return book.export("csv").encode("utf-8")


# --- export ----------------------------------------------------------------------------------


def product_row(product: Product, *, paths: dict[int, str], brand_names: dict[int, str]) -> dict[str, str]:
    """A product as a row of the spreadsheet (the inverse of :func:`row_fields`)."""
    def num(value: int | None) -> str:
        return "" if value is None else str(value)

    return {
        "sku": product.sku, "name": product.name, "description": product.description,
        "price": f"{product.price:.2f}", "currency": product.currency, "stock": str(product.stock),
        "category": paths[product.category_id], "brand": brand_names.get(product.brand_id, ""),
        "attributes": spreadsheet.format_attributes(product.attributes),
        "images": " ".join(i.url for i in product.images.all()), "tax_class": product.tax_class,
        "weight_g": num(product.weight_g), "length_mm": num(product.length_mm), "width_mm": num(product.width_mm),
        "height_mm": num(product.height_mm), "active": "true" if product.is_active else "false",
    }


def catalog_export(*, user, vendor_id: Any, file_format: str) -> bytes:
    """Every live product of the store as a ``csv`` or ``xlsx`` file in the import's format, by
    SKU. For its owners and managers (``vendor_get_managed``)."""
    vendor = vendor_get_managed(user=user, vendor_id=vendor_id)
    paths = {cid: path for path, cid in category_paths().items()}
    brand_names = dict(Brand.objects.values_list("id", "name"))
    products = Product.objects.alive().filter(vendor=vendor).prefetch_related("images").order_by("sku")
    return spreadsheet.write([product_row(p, paths=paths, brand_names=brand_names) for p in products], file_format)
