"""The catalogue import's two write paths: set-based (the default: one bulk create and one bulk
update per chunk) and row by row through ``product_create`` / ``product_update`` (the fallback
of a chunk the bulk write refuses as a whole). The same file imported both ways, into two stores
holding the same products, leaves the same products, images, price and stock history, report,
counters and events; the bulk path's queries do not grow with the rows."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce.cart.models import Cart
from commerce.catalog import imports, spreadsheet
from commerce.catalog.models import (
    CatalogImport,
    Category,
    Product,
    ProductImage,
    ProductPriceChange,
    ProductStockChange,
)
from realtime.models import OutboxEvent
from tests.factories.commerce import BrandFactory, CategoryFactory, ProductFactory, ProductImageFactory, VendorFactory
from tests.factories.orders import buyer_with_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def tables():
    parts = CategoryFactory(name="Parts", slug="parts")
    CategoryFactory(name="Brakes", slug="brakes", parent=parts)
    BrandFactory(name="Bosch", slug="bosch")


def upload(product, name: str, position: int):
    """An uploaded image (as ``commerce.catalog.media`` stores one), primary when first."""
    return ProductImageFactory(product=product, url="", file=f"products/{name}.jpg", position=position,
                               thumbnail_small=f"products/{name}-s.jpg", thumbnail_large=f"products/{name}-l.jpg",
                               is_primary=position == 0)


def stocked_store():
    """A store with the products the file below touches, and a buyer holding one in their cart."""
    vendor = VendorFactory()
    brakes = Category.objects.get(name="Brakes")
    price = ProductFactory(vendor=vendor, sku="UPD-PRICE", name="Disc", slug="disc", category=brakes, stock=5)
    ProductImageFactory(product=price, url="https://img.example/a.jpg", is_primary=True)
    ProductFactory(vendor=vendor, sku="SAME", name="Same", slug="same", category=brakes,
                   attributes={"fits": ["Golf VII"]}, weight_g=900)
    images = ProductFactory(vendor=vendor, sku="UPD-IMG", name="Pads", slug="pads", category=brakes)
    upload(images, "upload", 0)
    ProductImageFactory(product=images, url="https://img.example/old.jpg", position=1)
    full = ProductFactory(vendor=vendor, sku="FULL", name="Full", slug="full", category=brakes)
    for i in range(11):
        upload(full, f"full-{i}", i)
    ProductFactory(vendor=vendor, sku="EUR-ONLY", name="Euro", slug="euro", category=brakes)
    deactivated = ProductFactory(vendor=vendor, sku="UPD-DEACT", name="Old", slug="old", category=brakes)
    buyer = buyer_with_cart({price: 1, deactivated: 1})
    return vendor, buyer


def catalogue_file(vendor) -> bytes:
    """14 product lines: 3 new, 3 changed, 1 unchanged, 7 refused (by the cells, by the product
    checks, and one the bulk write refuses as a whole: a product already holding 11 uploads)."""
    paths = {cid: path for path, cid in imports.category_paths().items()}
    brands = {b.id: b.name for b in BrandFactory._meta.model.objects.all()}
    live = {p.sku: imports.product_row(p, paths=paths, brand_names=brands)
            for p in Product.objects.filter(vendor=vendor).prefetch_related("images")}
    new = {"category": "Parts > Brakes", "currency": "EUR", "stock": "3", "price": "9.99"}
    rows = [
        {**new, "sku": "NEW-1", "name": "Brake disc", "brand": "bosch", "attributes": 'diameter_mm=280;fits=["Golf"]',
         "images": "https://img.example/n1.jpg https://img.example/n1b.jpg", "weight_g": "5200",
         "tax_class": "reduced", "description": "-20 % while stocks last"},       # 2 created
        {**new, "sku": "NEW-2", "name": "Disc"},                                      # 3 created, slug disc-2
        {**live["UPD-PRICE"], "price": "12.00", "stock": "7"},                       # 4 updated
        live["SAME"],                                                                 # 5 unchanged
        {**live["UPD-IMG"], "images": "https://img.example/new1.jpg https://img.example/new2.jpg"},  # 6 updated
        {**new, "sku": "LONG", "name": "x" * 201},                                    # 7 name
        {**new, "sku": "DEAR", "price": "99999999999.00", "name": "Dear"},           # 8 price
        {**live["EUR-ONLY"], "currency": "USD"},                                      # 9 currency
        {**new, "sku": "NEW-1", "name": "Twice"},                                     # 10 sku
        {**new, "sku": "NEW-4", "name": "Colon", "attributes": "a:b=1"},             # 11 attributes
        {**live["FULL"], "images": "https://img.example/f1.jpg https://img.example/f2.jpg"},  # 12 too many images
        {**new, "sku": "NEW-5", "name": "Weightless", "weight_g": "0"},              # 13 weight_g
        {**new, "sku": "NEW-6", "name": "Hidden", "active": "false"},                # 14 created
        {**live["UPD-DEACT"], "active": "false"},                                     # 15 updated
    ]
    return spreadsheet.write(rows, "csv")


def run_import(vendor, data: bytes, *, bulk: bool) -> tuple[CatalogImport, list[OutboxEvent], int]:
    job = CatalogImport.objects.create(vendor=vendor, created_by=vendor.owner, file_name="c.csv", file_format="csv",
                                       source=data)
    last = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with CaptureQueriesContext(connection) as queries:
        job = imports.catalog_import_run(import_id=job.pk, bulk=bulk)
    return job, list(OutboxEvent.objects.filter(id__gt=last).order_by("id")), len(queries)


def state(vendor, buyer, job: CatalogImport, events: list[OutboxEvent]) -> dict:
    """What an import left, without ids, times or the store's identity."""
    products = {p.pk: p for p in Product.objects.filter(vendor=vendor)}
    sku = {pk: p.sku for pk, p in products.items()}
    fields = ("name", "slug", "description", "price", "currency", "stock", "category_id", "brand_id", "attributes",
              "tax_class", "weight_g", "length_mm", "width_mm", "height_mm", "is_active", "deleted_at")
    by_owner = {None: "nobody", vendor.owner.pk: "owner"}

    def topic(t: str) -> str:
        kind, _, key = t.partition(":")
        return f"product:{sku[uuid.UUID(key)]}" if kind == "product" else kind

    return {
        "job": (job.status, job.total_rows, job.rows_done, job.created, job.updated, job.unchanged, job.error_count),
        "errors": [(e["line"], e["sku"], e["field"], e["message"]) for e in job.errors],
        "products": {p.sku: tuple(getattr(p, f) for f in fields) for p in products.values()},
        "images": sorted((sku[i.product_id], i.url, i.file.name, i.position, i.is_primary, i.alt_text)
                         for i in ProductImage.objects.filter(product__vendor=vendor)),
        "prices": sorted((sku[c.product_id], c.old_price, c.new_price, c.currency, by_owner.get(c.changed_by_id))
                         for c in ProductPriceChange.objects.filter(product__vendor=vendor)),
        "stocks": sorted((sku[c.product_id], c.old_stock, c.new_stock, c.reason, by_owner.get(c.changed_by_id))
                         for c in ProductStockChange.objects.filter(product__vendor=vendor)),
        "events": Counter((e.type, topic(e.topic)) for e in events if e.type != "catalog_import.progress"),
        "progress": [(e.data["status"], e.data["rows_done"], e.data["error_count"])
                     for e in events if e.type == "catalog_import.progress"],
        "cart_version": Cart.objects.get(user=buyer).version,
    }


def test_the_bulk_path_leaves_what_the_row_by_row_path_leaves(tables, monkeypatch, caplog):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 4)  # chunks of 4 lines: the one with line 12 falls back
    caplog.set_level("INFO", logger="commerce.catalog.imports")
    runs = {}
    for bulk in (False, True):
        caplog.clear()
        vendor, buyer = stocked_store()
        versions = Cart.objects.get(user=buyer).version
        job, events, queries = run_import(vendor, catalogue_file(vendor), bulk=bulk)
        runs[bulk] = state(vendor, buyer, job, events), queries, versions
    # the bulk run wrote three chunks set-based; the one with line 12 fell back to row by row
    assert [r.getMessage() for r in caplog.records if "row by row" in r.getMessage()] == [
        f"catalog import {job.pk}: chunk at line 10 written row by row (A product has at most 12 images "
        "(11 uploaded).)"]
    (rows, row_queries, _), (bulk, bulk_queries, cart_before) = runs[False], runs[True]
    assert bulk == rows
    assert bulk_queries < row_queries
    # and what both left is what the file says
    assert bulk["job"] == ("done", 14, 14, 3, 3, 1, 7)
    assert [(line, field) for line, _, field, _ in bulk["errors"]] == [
        (7, "name"), (8, "price"), (9, "currency"), (10, "sku"), (11, "attributes"), (12, ""), (13, "weight_g")]
    assert "at most 12 images" in bulk["errors"][5][3]
    products = bulk["products"]
    assert products["NEW-2"][1] == "disc-2" and products["UPD-PRICE"][3:6] == (D("12.00"), "EUR", 7)
    assert products["UPD-DEACT"][14] is False and products["NEW-6"][14] is False
    assert products["NEW-1"][2] == "-20 % while stocks last" and products["NEW-1"][8] == {
        "diameter_mm": 280, "fits": ["Golf"]}
    images = [i for i in bulk["images"] if i[0] in ("NEW-1", "UPD-IMG")]
    assert images == [
        ("NEW-1", "https://img.example/n1.jpg", "", 0, True, ""), ("NEW-1", "https://img.example/n1b.jpg", "", 1, False, ""),
        ("UPD-IMG", "", "products/upload.jpg", 0, True, ""), ("UPD-IMG", "https://img.example/new1.jpg", "", 0, False, ""),
        ("UPD-IMG", "https://img.example/new2.jpg", "", 1, False, "")]
    assert ("UPD-PRICE", D("10.00"), D("12.00"), "EUR", "owner") in bulk["prices"]
    assert ("UPD-PRICE", 5, 7, "vendor_update", "owner") in bulk["stocks"]
    assert ("NEW-1", 0, 3, "created", "owner") in bulk["stocks"]
    assert bulk["events"] == Counter({("product.updated", "product:UPD-PRICE"): 1, ("product.updated", "product:UPD-IMG"): 1,
                                      ("product.unavailable", "product:UPD-DEACT"): 1, ("cart.updated", "cart"): 2})
    assert bulk["cart_version"] == cart_before + 2  # a price change (chunk 1), a product deactivated (chunk 4)
    assert bulk["progress"] == [("running", 0, 0), ("running", 4, 0), ("running", 8, 3), ("running", 12, 7),
                                ("done", 14, 7)]


def new_rows(count: int, *, start: int = 0) -> bytes:
    return spreadsheet.write([{"sku": f"N-{i}", "name": f"Part {i}", "price": "1.00", "category": "Parts > Brakes",
                               "brand": "Bosch", "attributes": "size=1", "images": f"https://img.example/{i}.jpg",
                               "stock": str(i)} for i in range(start, start + count)], "csv")


def test_bulk_queries_do_not_grow_with_the_rows_and_a_re_run_writes_nothing(tables, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 500)
    vendor = VendorFactory()
    small = run_import(vendor, new_rows(10), bulk=True)
    large = run_import(vendor, new_rows(60, start=10), bulk=True)
    assert (small[0].created, large[0].created) == (10, 60)
    assert small[2] == large[2]  # the same queries for 10 rows and for 60
    history = (ProductPriceChange.objects.count(), ProductStockChange.objects.count(), ProductImage.objects.count())
    again, events, _ = run_import(vendor, new_rows(60, start=10), bulk=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 60)
    assert [e.type for e in events] == ["catalog_import.progress"] * 2
    assert (ProductPriceChange.objects.count(), ProductStockChange.objects.count(),
            ProductImage.objects.count()) == history == (70, 70, 70)
    assert ProductImage.objects.filter(is_primary=True).count() == 70
