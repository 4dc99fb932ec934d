#!/usr/bin/env python
"""Benchmark: a catalogue import of 10,000 rows (issue 18 §3 asks for under a minute on this
machine; measured here, never asserted in tests), its re-run, a file changing 10 % of the
prices, the export and its re-import, on the set-based path the job uses; the same on the
row-by-row path (``bulk=False``: one ``product_create`` / ``product_update`` per row, the
fallback of a chunk the bulk write refuses) on a file of the same size (or ``--row-by-row-rows``),
to compare; SQL queries per
1,000 rows of each (load-independent, unlike the seconds on a shared machine); and the SQL
queries of a checkout that prices shipping and tax.

    .venv/bin/python bench/catalog_import.py                          # 10,000 rows both ways (~3 min)
    .venv/bin/python bench/catalog_import.py --rows 2000 --row-by-row-rows 500

A throw-away database (``test_marketplace_importbench``) on the embedded PostgreSQL. The job
runs in-process (``commerce.catalog.imports.catalog_import_run``, what the Celery task calls).
Writes ``bench/results/catalog_import.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, bench_database, setup_django  # noqa: E402

SETTINGS = """
from core.settings_test import *  # noqa
LOGGING["root"]["level"] = "ERROR"
CATALOG_IMPORT_MAX_ROWS = 100_000
"""


def queries(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def csv_file(rows: int, *, price_bump_every: int = 0) -> bytes:
    lines = ["sku,name,price,currency,stock,category,brand,attributes,images,tax_class,weight_g"]
    for i in range(rows):
        price = 10 + (i % 500) / 100 + (1 if price_bump_every and i % price_bump_every == 0 else 0)
        lines.append(f"SKU-{i:06d},Part {i},{price:.2f},EUR,{i % 40},Parts > Brakes,Bosch,"
                     f"\"diameter_mm={200 + i % 100};fits=[\"\"Golf VII\"\"]\",https://img.example/{i}.jpg,standard,"
                     f"{500 + i % 3000}")
    return ("\n".join(lines) + "\n").encode()


def timed_import(vendor, owner, data: bytes, *, bulk: bool = True) -> tuple[float, int, object]:
    """(seconds, SQL queries, finished import) of one import of ``data``. Queries are counted by
    an execute wrapper (Django's query log keeps only the last 9,000)."""
    from django.db import connection

    from commerce.catalog.imports import catalog_import_run
    from commerce.catalog.models import CatalogImport

    job = CatalogImport.objects.create(vendor=vendor, created_by=owner, file_name="bench.csv", file_format="csv",
                                       source=data)
    count = 0

    def counted(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        t = time.perf_counter()
        job = catalog_import_run(import_id=job.pk, bulk=bulk)
        seconds = time.perf_counter() - t
    return seconds, count, job


def import_series(vendor, owner, rows: int, *, bulk: bool) -> dict:
    """First import, re-run, 10 % of the prices changed: seconds, queries, per 1,000 rows."""
    out: dict = {"rows": rows}
    for key, data in (("first_run", csv_file(rows)), ("re_run", csv_file(rows)),
                      ("ten_percent_changed", csv_file(rows, price_bump_every=10))):
        seconds, count, job = timed_import(vendor, owner, data, bulk=bulk)
        out[key] = {"s": round(seconds, 1), "queries": count, "queries_per_1000_rows": round(count * 1000 / rows),
                    "created": job.created, "updated": job.updated, "unchanged": job.unchanged,
                    "errors": job.error_count}
    return out


def checkout_queries(stores: int) -> int:
    from commerce.orders import checkout as checkouts
    from tests.factories.commerce import ProductFactory, ShippingMethodFactory, VendorFactory
    from tests.factories.orders import buyer_with_cart, shipping_choice

    products = {}
    for _ in range(stores):
        vendor = VendorFactory(shipping=False)
        ShippingMethodFactory(zone__vendor=vendor, zone__countries=["DE"], price="4.90")
        products[ProductFactory(vendor=vendor, weight_g=500)] = 1
        products[ProductFactory(vendor=vendor, tax_class="reduced")] = 2
    buyer = buyer_with_cart(products)
    choice = shipping_choice(buyer)
    return queries(lambda: checkouts.checkout_create(buyer=buyer, shipping_methods=choice))


def run(rows: int, row_by_row_rows: int) -> dict:
    from commerce.catalog.imports import catalog_export
    from tests.factories.commerce import BrandFactory, CategoryFactory, VendorFactory

    parts = CategoryFactory(name="Parts", slug="parts")
    CategoryFactory(name="Brakes", slug="brakes", parent=parts)
    BrandFactory(name="Bosch", slug="bosch")
    vendor = VendorFactory()
    owner = vendor.owner
    result: dict = {"rows": rows, "bulk": import_series(vendor, owner, rows, bulk=True)}
    t = time.perf_counter()
    data = catalog_export(user=owner, vendor_id=vendor.pk, file_format="csv")
    result["export_csv_s"] = round(time.perf_counter() - t, 1)
    result["export_csv_bytes"] = len(data)
    seconds, count, job = timed_import(vendor, owner, data)
    result["export_reimport"] = {"s": round(seconds, 1), "queries": count, "unchanged": job.unchanged,
                                 "updated": job.updated, "created": job.created}
    other = VendorFactory()
    result["row_by_row"] = import_series(other, other.owner, row_by_row_rows, bulk=False)
    result["queries_checkout_1_store_2_lines"] = checkout_queries(1)
    result["queries_checkout_3_stores_6_lines"] = checkout_queries(3)
    return result


def markdown(r: dict) -> str:
    def line(path: str, key: str, what: str) -> tuple[str, ...]:
        m = r[path][key]
        counts = ", ".join(f"{k} {m[k]}" for k in ("created", "updated", "unchanged", "errors") if m[k])
        return (f"{what}, {r[path]['rows']:,} rows ({counts})", path.replace("_", " "), f"{m['s']} s",
                f"{m['queries']:,}", f"{m['queries_per_1000_rows']:,}")

    rows = []
    for path in ("bulk", "row_by_row"):
        rows += [line(path, "first_run", "first import (all new)"), line(path, "re_run", "the same file again"),
                 line(path, "ten_percent_changed", "10 % of the prices changed")]
    e = r["export_reimport"]
    lines = [f"# Catalogue import ({platform.machine()}, {r['cpus']} CPUs, shared with other work)", "",
             "| import | path | time | SQL queries | queries per 1,000 rows |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "| other measure | value |", "|---|---|",
              f"| export, CSV, {r['rows']:,} products | {r['export_csv_s']} s, {r['export_csv_bytes']:,} bytes |",
              f"| export imported again (bulk) | {e['s']} s, {e['queries']} queries (unchanged {e['unchanged']}, "
              f"updated {e['updated']}, created {e['created']}) |",
              f"| queries: checkout, 1 store, 2 lines (shipping quote + tax) | {r['queries_checkout_1_store_2_lines']} |",
              f"| queries: checkout, 3 stores, 6 lines | {r['queries_checkout_3_stores_6_lines']} |"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--row-by-row-rows", type=int, default=None, help="default: --rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp), name="import", settings_text=SETTINGS)
        with bench_database("import"):
            result = run(args.rows, args.row_by_row_rows or args.rows)
            result["cpus"] = os.cpu_count()
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "catalog_import.json").write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "catalog_import.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
