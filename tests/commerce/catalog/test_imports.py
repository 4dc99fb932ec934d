"""Catalogue import and export: a CSV or XLSX upload runs as a job (Celery, eager in tests) that
upserts by SKU row by row, reports bad rows with their line numbers (also as a CSV), publishes
its progress on the store's ``vendor:`` topic; running a file twice, or importing an export,
changes nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from commerce.catalog import imports
from commerce.catalog.models import CatalogImport, Category, Product, ProductPriceChange, ProductStockChange
from commerce.stores.models import VendorStaffRole, VendorStatus
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import (
    BrandFactory,
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    VendorFactory,
    VendorStaffFactory,
)
from tests.factories.core import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "sku,name,price,currency,stock,category,brand,attributes,images,tax_class,weight_g\n"


@pytest.fixture
def store():
    vendor = VendorFactory()
    parts = CategoryFactory(name="Parts", slug="parts")
    CategoryFactory(name="Brakes", slug="brakes", parent=parts)
    BrandFactory(name="Bosch", slug="bosch")
    return vendor


def upload(client, vendor, content: bytes, name: str = "catalogue.csv", capture=None):
    """POST the file; the job runs when the request's transaction commits (eager Celery)."""
    url = f"/api/v1/vendors/{vendor.pk}/catalog-imports/"
    with capture(execute=True):
        r = client.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")
    return r


def job_of(response) -> CatalogImport:
    assert response.status_code == 202, response.json()
    return CatalogImport.objects.get(pk=response.json()["id"])


GOOD = (HEADER
        + 'BD-1,Brake disc 280 mm,49.90,EUR,12,Parts > Brakes,bosch,"diameter_mm=280;fits=[""Golf VII""]",'
          'https://img.example/bd-1.jpg https://img.example/bd-1b.jpg,standard,5200\n'
        + "BP-2,Brake pads,19.50,,30,parts>brakes,,colour=grey,,reduced,\n").encode()


def test_a_csv_creates_products_then_the_same_file_again_changes_nothing(store, django_capture_on_commit_callbacks):
    client = client_for(store.owner)
    first = job_of(upload(client, store, GOOD, capture=django_capture_on_commit_callbacks))
    assert (first.status, first.total_rows, first.created, first.updated, first.error_count) == ("done", 2, 2, 0, 0)
    disc = Product.objects.get(vendor=store, sku="BD-1")
    assert (disc.name, disc.price, disc.stock, disc.category.name, disc.brand.name, disc.weight_g) == (
        "Brake disc 280 mm", D("49.90"), 12, "Brakes", "Bosch", 5200)
    assert disc.attributes == {"diameter_mm": 280, "fits": ["Golf VII"]}
    assert [i.url for i in disc.images.all()] == ["https://img.example/bd-1.jpg", "https://img.example/bd-1b.jpg"]
    pads = Product.objects.get(vendor=store, sku="BP-2")
    assert (pads.currency, pads.tax_class, pads.brand_id, pads.weight_g, pads.attributes) == (
        "EUR", "reduced", None, None, {"colour": "grey"})
    history = (ProductPriceChange.objects.count(), ProductStockChange.objects.count())
    stamps = dict(Product.objects.values_list("sku", "updated_at"))

    second = job_of(upload(client, store, GOOD, capture=django_capture_on_commit_callbacks))
    assert (second.status, second.created, second.updated, second.unchanged, second.error_count) == ("done", 0, 0, 2, 0)
    assert (ProductPriceChange.objects.count(), ProductStockChange.objects.count()) == history
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


def test_a_changed_row_updates_only_that_product(store, django_capture_on_commit_callbacks):
    client = client_for(store.owner)
    job_of(upload(client, store, GOOD, capture=django_capture_on_commit_callbacks))
    changed = GOOD.replace(b"19.50,,30", b"17.90,,25")
    job = job_of(upload(client, store, changed, capture=django_capture_on_commit_callbacks))
    assert (job.updated, job.unchanged) == (1, 1)
    pads = Product.objects.get(sku="BP-2")
    assert (pads.price, pads.stock) == (D("17.90"), 25)
    assert ProductPriceChange.objects.filter(product=pads, old_price=D("19.50"), new_price=D("17.90")).exists()


BAD = (HEADER
       + "OK-1,Fine,10.00,EUR,1,Parts,,,,,\n"                       # line 2: goes in
       + "BAD-1,Bad price,12;50,EUR,1,Parts,,,,,\n"                # line 3
       + "BAD-2,No such category,1.00,EUR,1,Parts > Wheels,,,,,\n"  # line 4
       + "BAD-3,No such brand,1.00,EUR,1,Parts,Acme,,,,\n"          # line 5
       + "OK-1,Twice,1.00,EUR,1,Parts,,,,,\n"                       # line 6: SKU already on line 2
       + "BAD-4,Bad attribute,1.00,EUR,1,Parts,,just-a-word,,,\n"   # line 7
       + "\n"                                                       # line 8: blank, skipped
       + "BAD-5,Bad weight,1.00,EUR,1,Parts,,,,,heavy\n"            # line 9
       + "BAD-6,Bad image,1.00,EUR,1,Parts,,,ftp://x/y.jpg,,\n"     # line 10
       + "BAD-7,Bad tax,1.00,EUR,1,Parts,,,,luxury,\n"              # line 11
       + ",No SKU,1.00,EUR,1,Parts,,,,,\n").encode()                # line 12


def test_bad_rows_are_reported_with_their_lines_and_the_good_ones_go_in(store, django_capture_on_commit_callbacks):
    client = client_for(store.owner)
    job = job_of(upload(client, store, BAD, capture=django_capture_on_commit_callbacks))
    assert (job.status, job.total_rows, job.created, job.error_count) == ("done", 10, 1, 9)
    assert list(Product.objects.filter(vendor=store).values_list("sku", flat=True)) == ["OK-1"]
    report = [(e["line"], e["sku"], e["field"]) for e in job.errors]
    assert report == [(3, "BAD-1", "price"), (4, "BAD-2", "category"), (5, "BAD-3", "brand"), (6, "OK-1", "sku"),
                      (7, "BAD-4", "attributes"), (9, "BAD-5", "weight_g"), (10, "BAD-6", "images"),
                      (11, "BAD-7", "tax_class"), (12, "", "sku")]
    r = client.get(f"/api/v1/vendors/{store.pk}/catalog-imports/{job.pk}/errors/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [(int(row["line"]), row["sku"], row["field"]) for row in rows] == report
    assert all(row["message"] for row in rows)
    detail = client.get(f"/api/v1/vendors/{store.pk}/catalog-imports/{job.pk}/").json()
    assert detail["error_count"] == 9 and detail["errors"][0]["line"] == 3


def test_the_job_publishes_its_progress_on_the_stores_desk(store, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    rows = "".join(f"P-{i},Product {i},1.00,EUR,1,Parts,,,,,\n" for i in range(5))
    job = job_of(upload(client_for(store.owner), store, (HEADER + rows).encode(),
                        capture=django_capture_on_commit_callbacks))
    events = [e.data for e in OutboxEvent.objects.filter(type="catalog_import.progress").order_by("id")]
    assert {e.topic for e in OutboxEvent.objects.filter(type="catalog_import.progress")} == {f"vendor:{store.pk}"}
    assert [(e["status"], e["rows_done"], e["total_rows"]) for e in events] == [
        ("running", 0, 5), ("running", 2, 5), ("running", 4, 5), ("done", 5, 5)]
    assert (events[-1]["import_id"], events[-1]["created"], events[-1]["error_count"]) == (str(job.pk), 5, 0)


def test_export_then_import_is_a_no_op_in_csv_and_xlsx(store, django_capture_on_commit_callbacks):
    brakes = Category.objects.get(name="Brakes")
    tricky = {"fits": ["Golf VII", "Golf VIII"], "diameter_mm": 76, "code": "76", "note": "a;b", "ok": True,
              "ratio": 1.5, "spaced": " padded "}
    p1 = ProductFactory(vendor=store, sku="A-1", category=brakes, attributes=tricky, price=D("12.34"), weight_g=800,
                        length_mm=300, width_mm=300, height_mm=40, tax_class="reduced", description="Line 1\nLine 2")
    ProductImageFactory(product=p1, url="https://img.example/a.jpg", position=0)
    ProductImageFactory(product=p1, url="https://img.example/b.jpg", position=1)
    ProductFactory(vendor=store, sku="B-2", category=brakes.parent, brand=BrandFactory(name="Ate", slug="ate"),
                   is_active=False)
    client = client_for(store.owner)
    before = {p.sku: (p.updated_at, p.attributes) for p in Product.objects.filter(vendor=store)}
    for file_format in ("csv", "xlsx"):
        r = client.get(f"/api/v1/vendors/{store.pk}/catalog-export/", {"file_format": file_format})
        assert r.status_code == 200, r.content[:200]
        sheet = tablib.Dataset().load(io.BytesIO(r.content) if file_format == "xlsx" else r.content.decode(),
                                      format=file_format)
        assert sheet["sku"] == ["A-1", "B-2"]
        job = job_of(upload(client, store, r.content, name=f"export.{file_format}",
                            capture=django_capture_on_commit_callbacks))
        assert (job.file_format, job.total_rows, job.unchanged, job.created, job.updated, job.error_count) == (
            file_format, 2, 2, 0, 0, 0), job.errors
    assert {p.sku: (p.updated_at, p.attributes) for p in Product.objects.filter(vendor=store)} == before


def test_a_file_that_cannot_be_read_fails_as_a_whole(store, django_capture_on_commit_callbacks):
    client = client_for(store.owner)
    job = job_of(upload(client, store, b"sku,name,price\nX,Y,1.00\n", capture=django_capture_on_commit_callbacks))
    assert (job.status, job.total_rows) == ("failed", 0) and "category" in job.detail
    job = job_of(upload(client, store, b"sku,name,price,category,colour\n", capture=django_capture_on_commit_callbacks))
    assert job.status == "failed" and "colour" in job.detail
    assert not Product.objects.filter(vendor=store).exists()


@pytest.mark.parametrize("name,content", [("catalogue.csv", b""), ("catalogue.xls", b"\xd0\xcf\x11\xe0 old excel")])
def test_an_unusable_upload_is_refused_and_queues_nothing(store, name, content, django_capture_on_commit_callbacks):
    r = upload(client_for(store.owner), store, content, name=name, capture=django_capture_on_commit_callbacks)
    assert r.status_code == 400 and r.json()["code"] in ("invalid_file", "invalid")
    assert not CatalogImport.objects.exists()


def test_a_redelivered_job_runs_once(store, django_capture_on_commit_callbacks):
    job = job_of(upload(client_for(store.owner), store, GOOD, capture=django_capture_on_commit_callbacks))
    assert imports.catalog_import_run(import_id=job.pk) is None
    assert Product.objects.filter(vendor=store).count() == 2


def test_wrong_actors_reach_no_endpoint(store, django_capture_on_commit_callbacks):
    job = job_of(upload(client_for(store.owner), store, GOOD, capture=django_capture_on_commit_callbacks))
    base = f"/api/v1/vendors/{store.pk}"
    reads = [f"{base}/catalog-imports/", f"{base}/catalog-imports/{job.pk}/", f"{base}/catalog-imports/{job.pk}/errors/",
             f"{base}/catalog-export/"]
    clerk = VendorStaffFactory(vendor=store, role=VendorStaffRole.STAFF).user
    actors = [(APIClient(), 401, "not_authenticated"), (client_for(UserFactory()), 404, "vendor_not_found"),
              (client_for(VendorFactory().owner), 404, "vendor_not_found"),
              (client_for(clerk), 403, "store_settings_not_allowed")]
    for client, status, code in actors:
        for url in reads:
            r = client.get(url)
            assert (r.status_code, r.json()["code"]) == (status, code), url
        r = upload(client, store, GOOD.replace(b"49.90", b"1.00"), capture=django_capture_on_commit_callbacks)
        assert (r.status_code, r.json()["code"]) == (status, code)
    assert CatalogImport.objects.count() == 1 and Product.objects.get(sku="BD-1").price == D("49.90")
    other = VendorFactory()
    r = client_for(other.owner).get(f"/api/v1/vendors/{other.pk}/catalog-imports/{job.pk}/")
    assert (r.status_code, r.json()["code"]) == (404, "import_not_found")
    assert client_for(AdminFactory()).get(f"{base}/catalog-imports/{job.pk}/").status_code == 200


def test_a_manager_imports_and_exports_an_admin_reads_but_cannot_load_rows(store, django_capture_on_commit_callbacks):
    """Owners and managers load the catalogue (the rows are their product writes); a marketplace
    admin reads the imports and the export but may not write a store's products, and nobody loads
    the catalogue of a store that is not active."""
    manager = VendorStaffFactory(vendor=store, role=VendorStaffRole.MANAGER).user
    job = job_of(upload(client_for(manager), store, GOOD, capture=django_capture_on_commit_callbacks))
    job.refresh_from_db()
    assert (job.status, job.created, job.error_count) == ("done", 2, 0)
    assert Product.objects.get(vendor=store, sku="BD-1").price == D("49.90")
    assert client_for(manager).get(f"/api/v1/vendors/{store.pk}/catalog-export/").status_code == 200
    admin = client_for(AdminFactory())
    r = upload(admin, store, GOOD.replace(b"49.90", b"1.00"), capture=django_capture_on_commit_callbacks)
    assert (r.status_code, r.json()["code"]) == (403, "not_vendor")
    assert admin.get(f"/api/v1/vendors/{store.pk}/catalog-export/").status_code == 200
    store.status = VendorStatus.SUSPENDED
    store.save(update_fields=["status"])
    r = upload(client_for(store.owner), store, GOOD.replace(b"49.90", b"1.00"), capture=django_capture_on_commit_callbacks)
    assert (r.status_code, r.json()["code"]) == (403, "not_vendor")
    assert CatalogImport.objects.count() == 1 and Product.objects.get(sku="BD-1").price == D("49.90")


def test_exported_text_cannot_run_as_a_formula_and_still_imports_as_a_no_op(store, django_capture_on_commit_callbacks):
    """OWASP CSV injection: a product text starting with =, +, -, @ is exported behind a ``'``
    (numbers are not), and the import takes the ``'`` off again."""
    parts = Category.objects.get(name="Parts")
    ProductFactory(vendor=store, sku="-5", name='=HYPERLINK("http://evil.example","Click")', category=parts,
                   description="-20 % on discs", attributes={"temp_min": -40, "note": "+1"}, price=D("0.50"))
    ProductFactory(vendor=store, sku="@bay", name="-40 °C screen wash", category=parts, stock=0)
    client = client_for(store.owner)
    before = {p.sku: (p.name, p.description, p.attributes, p.updated_at) for p in Product.objects.filter(vendor=store)}
    for file_format in ("csv", "xlsx"):
        r = client.get(f"/api/v1/vendors/{store.pk}/catalog-export/", {"file_format": file_format})
        sheet = tablib.Dataset().load(io.BytesIO(r.content) if file_format == "xlsx" else r.content.decode(),
                                      format=file_format)
        assert sheet["sku"] == ["'-5", "'@bay"]
        assert sheet["name"] == ['\'=HYPERLINK("http://evil.example","Click")', "'-40 °C screen wash"]
        assert sheet["description"][0] == "'-20 % on discs"
        assert (sheet["price"], sheet["stock"]) == (["0.50", "10.00"], ["10", "0"])
        job = job_of(upload(client, store, r.content, name=f"export.{file_format}",
                            capture=django_capture_on_commit_callbacks))
        assert (job.unchanged, job.created, job.updated, job.error_count) == (2, 0, 0, 0), job.errors
    assert {p.sku: (p.name, p.description, p.attributes, p.updated_at)
            for p in Product.objects.filter(vendor=store)} == before


def test_the_error_report_escapes_the_uploaders_text(store, django_capture_on_commit_callbacks):
    client = client_for(store.owner)
    job = job_of(upload(client, store, (HEADER + "=1+1,Formula sku,-1,EUR,1,Parts,,,,,\n").encode(),
                        capture=django_capture_on_commit_callbacks))
    assert [(e["sku"], e["field"]) for e in job.errors] == [("=1+1", "price")]
    r = client.get(f"/api/v1/vendors/{store.pk}/catalog-imports/{job.pk}/errors/")
    assert r.content.decode().splitlines()[1].startswith("2,'=1+1,price,")
