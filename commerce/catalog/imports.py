"""Catalogue import and export: a store loads its products from a spreadsheet
(:mod:`commerce.catalog.spreadsheet`) in a Celery job, and downloads them in the same format.

**Per row, not per file.** Each row stands on its own: a bad row is reported (line, SKU, column,
message) and the rest go in. Why not all-or-nothing per file: a supplier's file of thousands of
lines with a few typos should not hold back the good lines, and a store re-runs the file after
fixing those lines: the upsert by SKU makes that safe, because rows already in place are
*unchanged* (no write, no history row, no cart refresh, no event), so only the fixed lines
change. The report says exactly which lines did not go in, so nothing is half-known.

**Set-based writes.** The job reads every row into product fields in Python first
(:func:`parse_rows`: cells, categories and brands from two lookup tables, SKUs repeated in the
file), then writes the rows in chunks of :data:`PROGRESS_EVERY`, one transaction per chunk. A
chunk locks the store's live products with its SKUs (pk order), checks each new product or each
change with the product services' own checks (:func:`~commerce.catalog.services.
product_values_check`; a refused row is reported, the others go on), then writes them with one
:func:`~commerce.catalog.services.products_bulk_create` and one
:func:`~commerce.catalog.services.products_bulk_update`: the same rows as ``product_create`` /
``product_update`` give (slug, images with one primary, price and stock history by the
uploader), the same ``products_changed`` (carts refreshed) and ``product:`` page events for
changed products, in a fixed number of queries per chunk (10,000 new rows: 81 queries per
1,000 rows and 12 s, against 18,025 and 109 s row by row). New products publish no event, as ``product_create`` does not: no cart holds
them and nobody can follow their ``product:`` topic yet. When the database or a racing writer
refuses a chunk's bulk write as a whole (a SKU created meanwhile, too many images beside the
uploads), the chunk rolls back to its savepoint and is written row by row through
``product_create`` / ``product_update``, one savepoint per row, so the report names the row.
``catalog_import_run(bulk=False)`` writes every chunk that way (``bench/catalog_import.py``
compares the two; ``bench/results/catalog_import.md``).

**A lost worker.** A chunk's rows and the counters that count them (``rows_done``, the report)
commit together, with a fresh ``heartbeat_at``. A worker killed mid-import leaves the import
``running`` with an old heartbeat; the beat sweep :func:`catalog_imports_recover` queues it
again once (it resumes after its last committed chunk: re-running is safe, the upsert by SKU
makes a repeated row ``unchanged``) and marks it ``failed`` with a ``detail`` the store sees the
second time (a file that kills its worker must not loop). Each run holds an attempt number; a
run that finds the import no longer ``running`` with its number (the sweep gave it to another
worker) stops before its next chunk.

**Upsert by SKU.** A row whose SKU the store has (a live product) updates only the fields that
differ; one it does not have creates a product. Running the same file twice changes nothing the
second time (every row ``unchanged``); exporting and importing the export changes nothing.

**Progress.** The job publishes ``catalog_import.progress`` on the store's ``vendor:`` topic
(``commerce.catalog.events``) when it starts, with every chunk of :data:`PROGRESS_EVERY` rows
(the last one says ``done``) and when the sweep fails it: rows done of the total, created,
updated, unchanged, errors so far.

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import tablib
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import ApplicationError, Forbidden, NotFound
from realtime.outbox import publish

from commerce.catalog import spreadsheet
from commerce.catalog.events import CatalogImportProgress
from commerce.catalog.models import Brand, CatalogImport, CatalogImportStatus, Category, Product
from commerce.catalog.services import (
    product_create,
    product_update,
    product_values_check,
    products_bulk_create,
    products_bulk_update,
)
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


@dataclass
class ParsedRow:
    """A row after the pass over the whole file (:func:`parse_rows`): its spreadsheet ``line``,
    ``sku``, and either the product ``fields`` it sets or the report line of its ``error``."""

    line: int
    sku: str
    fields: dict[str, Any] | None
    error: dict[str, Any] | None


def parse_rows(rows: list[tuple[int, dict[str, str]]], *, tables: dict[str, dict]) -> list[ParsedRow]:
    """Every row of the file read into product fields in Python (no query): a missing or too
    long SKU, a SKU on an earlier line, and any cell :func:`row_fields` refuses make that row an
    error. ``tables``: ``{"categories": {lower-case path: id}, "brands": {lower-case name: id}}``."""
    seen: set[str] = set()
    out = []
    for line, row in rows:
        sku = row.get("sku", "")
        try:
            if not sku:
                raise CellError("sku", "Every row needs a SKU.")
            if sku in seen:
                raise CellError("sku", "This SKU is on an earlier line of the file.")
            seen.add(sku)
            if len(sku) > 64:
                raise CellError("sku", "SKU must be 1-64 characters.")
            out.append(ParsedRow(line, sku, row_fields(row, categories=tables["categories"], brands=tables["brands"]),
                                 None))
        except CellError as exc:
            out.append(ParsedRow(line, sku, None, _error(line, sku, exc.field, str(exc))))
    return out


def _refusal(row: ParsedRow, exc: Exception) -> tuple[str, dict[str, Any]]:
    """``("error", report line)`` for a row the checks refused."""
    if isinstance(exc, CellError):
        return "error", _error(row.line, row.sku, exc.field, str(exc))
    field, message = _error_of(exc)
    return "error", _error(row.line, row.sku, field, message)


def _write_chunk_bulk(job: CatalogImport, user, chunk: list[ParsedRow]) -> list[tuple[str, dict[str, Any] | None]]:
    """The set-based write of a chunk (module docstring): lock the store's live products with
    the chunk's SKUs (pk order), check each row's new product or changes in Python (a refused
    row is reported, the others go on), then one
    :func:`~commerce.catalog.services.products_bulk_create` and one
    :func:`~commerce.catalog.services.products_bulk_update`. Returns ``(outcome, error)`` per
    row, in order. Raises the services' ``ApplicationError`` or a ``DatabaseError`` for what
    only the database or a racing writer can refuse: the caller rolls the chunk back and
    writes it row by row."""
    valid = [r for r in chunk if r.error is None]
    locked = {p.sku: p for p in Product.objects.select_for_update().alive()
              .filter(vendor_id=job.vendor_id, sku__in=[r.sku for r in valid]).order_by("pk")
              .prefetch_related("images")}
    outcomes: list[tuple[str, dict[str, Any] | None]] = []
    creates, updates = [], {}
    for row in chunk:
        if row.error is not None:
            outcomes.append(("error", row.error))
            continue
        product = locked.get(row.sku)
        try:
            if product is None:
                creates.append({"sku": row.sku, **product_values_check(row.fields)})
                outcomes.append(("created", None))
                continue
            changes = changes_for(product, row.fields)
            if changes:
                updates[product.pk] = product_values_check(changes)
            outcomes.append(("updated" if changes else "unchanged", None))
        except (CellError, ApplicationError) as exc:
            outcomes.append(_refusal(row, exc))
    products_bulk_create(user=user, vendor_id=job.vendor_id, rows=creates)
    products_bulk_update(user=user, vendor_id=job.vendor_id, changes=updates)
    return outcomes


def _write_chunk_rows(job: CatalogImport, user, chunk: list[ParsedRow]) -> list[tuple[str, dict[str, Any] | None]]:
    """The chunk row by row, each in its own savepoint through ``product_create`` /
    ``product_update`` (a refused row leaves nothing behind): ``(outcome, error)`` per row."""
    existing = {p.sku: p for p in Product.objects.alive()
                .filter(vendor_id=job.vendor_id, sku__in=[r.sku for r in chunk if r.error is None])
                .prefetch_related("images")}
    outcomes: list[tuple[str, dict[str, Any] | None]] = []
    for row in chunk:
        if row.error is not None:
            outcomes.append(("error", row.error))
            continue
        try:
            with transaction.atomic():
                product = existing.get(row.sku)
                if product is None:
                    existing[row.sku] = product_create(user=user, vendor_id=job.vendor_id, sku=row.sku, **row.fields)
                    outcomes.append(("created", None))
                    continue
                changes = changes_for(product, row.fields)
                if changes:
                    existing[row.sku] = product_update(user=user, product_id=product.pk, **changes)
                outcomes.append(("updated" if changes else "unchanged", None))
        except (CellError, ApplicationError) as exc:
            outcomes.append(_refusal(row, exc))
        except DatabaseError as exc:  # a value the database refuses that no check caught
            logger.warning("catalog import %s line %s: %s", job.pk, row.line, exc)
            outcomes.append(("error", _error(row.line, row.sku, "", "The row could not be saved.")))
    return outcomes


def _write_chunk(job: CatalogImport, user, chunk: list[ParsedRow], *, bulk: bool) -> list[tuple[str, dict[str, Any] | None]]:
    """The chunk set-based (``bulk``) in a savepoint, falling back to row by row when the bulk
    write is refused as a whole (the row-by-row pass then names the row)."""
    if bulk:
        try:
            with transaction.atomic():
                return _write_chunk_bulk(job, user, chunk)
        except (ApplicationError, DatabaseError) as exc:
            logger.info("catalog import %s: chunk at line %s written row by row (%s)", job.pk, chunk[0].line, exc)
    return _write_chunk_rows(job, user, chunk)


def _progress(job: CatalogImport) -> None:
    """Save the counters and the heartbeat, and announce them on the store's desk (after
    commit). Call it in the transaction that did the work it counts."""
    job.heartbeat_at = timezone.now()
    with transaction.atomic():
        CatalogImport.objects.filter(pk=job.pk).update(
            status=job.status, detail=job.detail, total_rows=job.total_rows, rows_done=job.rows_done,
            created=job.created, updated=job.updated, unchanged=job.unchanged, error_count=job.error_count,
            errors=job.errors, started_at=job.started_at, finished_at=job.finished_at, heartbeat_at=job.heartbeat_at)
        publish(topic=VENDOR_TOPIC.name(job.vendor_id), event=CatalogImportProgress.build(job=job))


def _still_ours(job: CatalogImport) -> bool:
    """Lock the import's row and tell whether this run still owns it: ``running`` with this
    run's attempt number. A run the recovery sweep gave up on (or handed to another worker)
    stops at its next chunk instead of writing beside the new run. Call inside a transaction."""
    return bool(list(CatalogImport.objects.select_for_update()
                     .filter(pk=job.pk, status=CatalogImportStatus.RUNNING, attempts=job.attempts)
                     .values_list("pk", flat=True)))


def _claim(import_id: Any) -> CatalogImport | None:
    """The queued import, moved to ``running`` under its row lock (a job delivered twice runs
    once), with its attempt number raised and a fresh heartbeat; None when it is unknown or not
    queued any more."""
    with transaction.atomic():
        job = CatalogImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.status != CatalogImportStatus.QUEUED:
            return None
        job.status, job.attempts, job.heartbeat_at = CatalogImportStatus.RUNNING, job.attempts + 1, timezone.now()
        job.started_at = job.started_at or job.heartbeat_at
        job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at"])
        return job


def _finish(job: CatalogImport, *, status: str, detail: str = "") -> bool:
    """End the run (fenced by :func:`_still_ours`): ``status`` ``done`` or ``failed`` with
    ``detail``. False when the run no longer owns the import."""
    with transaction.atomic():
        if not _still_ours(job):
            return False
        job.status, job.detail, job.finished_at = status, detail[:500], timezone.now()
        _progress(job)
        return True


def catalog_import_run(*, import_id: Any, bulk: bool = True) -> CatalogImport | None:
    """Run a queued import (the Celery job ``commerce.tasks.run_catalog_import``): read the file,
    read every row in Python, write them chunk by chunk (set-based when ``bulk``, the default;
    row by row through the product services otherwise: module docstring), keep the counters, the
    heartbeat and the error report, publish progress. A run resumed by
    :func:`catalog_imports_recover` starts after the last committed chunk (``rows_done``).

    Returns the import (``done``; ``failed`` when the file cannot be read at all or the run hit an
    unexpected error: ``detail`` says why); None when there was nothing to run, or when the run
    lost the import to the recovery sweep. Re-raises an unexpected error after marking the
    import failed."""
    job = _claim(import_id)
    if job is None:
        return None
    try:
        return _run(job, bulk=bulk)
    except Exception:
        logger.exception("catalog import %s stopped", job.pk)
        # the counters as committed: the chunk that failed rolled back
        job.refresh_from_db(fields=["total_rows", "rows_done", "created", "updated", "unchanged", "error_count",
                                    "errors"])
        _finish(job, status=CatalogImportStatus.FAILED, detail=(
            f"The import stopped on an unexpected error after {job.rows_done} of {job.total_rows} rows; the rows "
            "before went in. Upload the file again: rows already in place are left unchanged."))
        raise


def _run(job: CatalogImport, *, bulk: bool) -> CatalogImport | None:
    user = job.created_by
    try:
        sheet = spreadsheet.read(bytes(job.source), job.file_format, max_rows=max_rows())
    except SpreadsheetError as exc:
        _finish(job, status=CatalogImportStatus.FAILED, detail=str(exc))
        return job
    tables = {"categories": {path.lower(): cid for path, cid in category_paths().items()},
              "brands": {name.lower(): bid for bid, name in Brand.objects.values_list("id", "name")}}
    parsed = parse_rows(sheet.rows, tables=tables)
    with transaction.atomic():
        if not _still_ours(job):
            return None
        job.total_rows = len(parsed)
        _progress(job)
    for start in range(job.rows_done, len(parsed), PROGRESS_EVERY):
        chunk = parsed[start:start + PROGRESS_EVERY]
        with transaction.atomic():  # the chunk's rows and the counters that count them commit together
            if not _still_ours(job):
                logger.warning("catalog import %s: the recovery sweep took the import over; this run stops", job.pk)
                return None
            for outcome, error in _write_chunk(job, user, chunk, bulk=bulk):
                if error is not None:
                    job.error_count += 1
                    job.errors.append(error)
                else:
                    setattr(job, outcome, getattr(job, outcome) + 1)
            job.rows_done += len(chunk)
            if job.rows_done == job.total_rows:
                job.status, job.finished_at = CatalogImportStatus.DONE, timezone.now()
            _progress(job)
    if job.status == CatalogImportStatus.RUNNING and not _finish(job, status=CatalogImportStatus.DONE):
        return None
    logger.info("catalog import %s of store %s: %s rows, %s created, %s updated, %s unchanged, %s errors",
                job.pk, job.vendor_id, job.total_rows, job.created, job.updated, job.unchanged, job.error_count)
    return job


# --- recovery ----------------------------------------------------------------------------------


def stale_after() -> timedelta:
    """How long a ``running`` import may go without a heartbeat before the sweep deems its
    worker lost (``CATALOG_IMPORT_STALE_SECONDS``, default 300: a chunk takes seconds)."""
    return timedelta(seconds=int(getattr(settings, "CATALOG_IMPORT_STALE_SECONDS", 300)))


def max_attempts() -> int:
    """How many runs an import gets before the sweep marks it failed
    (``CATALOG_IMPORT_MAX_ATTEMPTS``, default 2: the first and one resumption)."""
    return int(getattr(settings, "CATALOG_IMPORT_MAX_ATTEMPTS", 2))


def catalog_imports_recover(*, now: datetime | None = None) -> dict[str, int]:
    """The beat sweep (``commerce.tasks.recover_catalog_imports``, every minute): an import
    ``running`` without a heartbeat for :func:`stale_after` lost its worker (killed, out of
    memory, the machine restarted). Below :func:`max_attempts` runs it is queued again and
    resumes after its last committed chunk (rows and counters commit together, and the upsert
    by SKU makes a repeated row harmless); after that it is marked ``failed`` with a ``detail``
    the store sees (the import's page and a ``catalog_import.progress`` event). An import whose
    run is alive holds its row lock while it writes a chunk and is skipped (``SKIP LOCKED``).
    Returns ``{"requeued": n, "failed": n}``."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    requeued: list[str] = []
    failed = 0
    with transaction.atomic():
        jobs = list(CatalogImport.objects.select_for_update(skip_locked=True).defer("source")
                    .filter(status=CatalogImportStatus.RUNNING)
                    .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
                    .order_by("pk"))
        for job in jobs:
            if job.attempts < max_attempts():
                job.status = CatalogImportStatus.QUEUED
                job.save(update_fields=["status"])
                requeued.append(str(job.pk))
                logger.warning("catalog import %s lost its worker at %s of %s rows; queued again",
                               job.pk, job.rows_done, job.total_rows)
                continue
            job.status, job.finished_at = CatalogImportStatus.FAILED, now
            job.detail = (f"The import stopped without finishing after {job.rows_done} of {job.total_rows} rows "
                          f"({job.attempts} tries; its worker was lost). The rows before went in. Upload the file "
                          "again to import the rest: rows already in place are left unchanged.")
            _progress(job)
            failed += 1
            logger.error("catalog import %s failed: worker lost %s times", job.pk, job.attempts)
        for job_id in requeued:
            transaction.on_commit(partial(_queue, job_id), robust=True)
    return {"requeued": len(requeued), "failed": failed}


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
    """The per-row error report as CSV (UTF-8): ``line,sku,field,message``, the text cells
    escaped against formula injection (a SKU or a quoted cell is the uploader's text)."""
    book = tablib.Dataset(headers=["line", "sku", "field", "message"])
    for e in job.errors:
        book.append([e["line"], *(spreadsheet.escape_cell(str(e[k])) for k in ("sku", "field", "message"))])
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
