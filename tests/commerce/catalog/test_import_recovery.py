"""A catalogue import whose worker is lost (killed, out of memory, the machine restarted) does
not stay ``running`` for ever: the beat sweep (``catalog_imports_recover``) resumes it once
after its last committed chunk, then marks it failed with a detail the store sees; a live run is
left alone, and a run that lost its import to the sweep stops instead of writing beside the new
one."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from commerce.catalog import imports, spreadsheet
from commerce.catalog.models import CatalogImport, CatalogImportStatus, Product
from commerce.catalog.tasks import recover_catalog_imports
from realtime.models import OutboxEvent
from tests.factories.commerce import CategoryFactory, VendorFactory

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, no handler sees it."""


@pytest.fixture
def vendor():
    CategoryFactory(name="Parts", slug="parts")
    return VendorFactory()


def queued(vendor, rows: int = 5) -> CatalogImport:
    data = spreadsheet.write([{"sku": f"P-{i}", "name": f"Part {i}", "price": "1.00", "category": "Parts"}
                              for i in range(rows)], "csv")
    return CatalogImport.objects.create(vendor=vendor, created_by=vendor.owner, file_name="c.csv", file_format="csv",
                                        source=data)


def later(minutes: int = 6):
    return timezone.now() + timedelta(minutes=minutes)


def test_a_lost_worker_s_import_is_resumed_after_its_last_chunk(vendor, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    write = imports.products_bulk_create
    calls = []

    def dies_on_the_second_chunk(*, user, vendor_id, rows):
        calls.append([row["sku"] for row in rows])
        if len(calls) == 2:
            raise WorkerKilled
        return write(user=user, vendor_id=vendor_id, rows=rows)

    monkeypatch.setattr(imports, "products_bulk_create", dies_on_the_second_chunk)
    job = queued(vendor)
    with pytest.raises(WorkerKilled):
        imports.catalog_import_run(import_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.attempts) == ("running", 2, 2, 1)
    assert imports.catalog_imports_recover() == {"requeued": 0, "failed": 0}  # its heartbeat is fresh

    with django_capture_on_commit_callbacks(execute=True):
        assert imports.catalog_imports_recover(now=later()) == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    # the second run started with the chunk that died, not at the top of the file
    assert calls == [["P-0", "P-1"], ["P-2", "P-3"], ["P-2", "P-3"], ["P-4"]]
    assert (job.status, job.rows_done, job.created, job.unchanged, job.error_count, job.attempts) == (
        "done", 5, 5, 0, 0, 2)
    assert Product.objects.filter(vendor=vendor).count() == 5


def test_a_live_import_is_not_swept(vendor):
    job = queued(vendor)
    job.status, job.attempts = CatalogImportStatus.RUNNING, 1
    job.started_at = job.heartbeat_at = timezone.now() - timedelta(minutes=4)
    job.save()
    assert recover_catalog_imports() == {"requeued": 0, "failed": 0}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.detail) == ("running", 1, "")


def test_an_import_that_lost_its_worker_twice_fails_and_the_store_is_told(vendor):
    job = queued(vendor)
    job.status, job.attempts, job.total_rows, job.rows_done = CatalogImportStatus.RUNNING, 2, 5, 2
    job.started_at = job.heartbeat_at = timezone.now() - timedelta(minutes=20)
    job.save()
    assert recover_catalog_imports() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "after 2 of 5 rows" in job.detail and "Upload the file again" in job.detail
    event = OutboxEvent.objects.get(type="catalog_import.progress")
    assert (event.topic, event.data["status"], event.data["detail"]) == (f"vendor:{vendor.pk}", "failed", job.detail)
    assert recover_catalog_imports() == {"requeued": 0, "failed": 0}  # once


def test_a_run_that_lost_its_import_to_the_sweep_stops(vendor, monkeypatch, django_capture_on_commit_callbacks):
    """Worker A stalls longer than the stale time; the sweep hands the import to worker B, which
    finishes it; A wakes up and writes nothing."""
    parse = imports.parse_rows
    stalled = []

    def stalls_once(rows, *, tables):
        if not stalled:
            stalled.append(True)
            with django_capture_on_commit_callbacks(execute=True):  # B runs here, to the end
                assert imports.catalog_imports_recover(now=later()) == {"requeued": 1, "failed": 0}
        return parse(rows, tables=tables)

    monkeypatch.setattr(imports, "parse_rows", stalls_once)
    job = queued(vendor)
    assert imports.catalog_import_run(import_id=job.pk) is None  # A
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.rows_done, job.created, job.unchanged, job.attempts) == (
        "done", 5, 5, 5, 0, 2)
    statuses = [e.data["status"] for e in OutboxEvent.objects.filter(type="catalog_import.progress").order_by("id")]
    assert statuses == ["running", "done"]  # B's; A published nothing


def test_an_unexpected_error_fails_the_import_with_what_was_committed(vendor, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    write = imports.products_bulk_create
    calls = []

    def breaks_on_the_second_chunk(*, user, vendor_id, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("a bug")
        return write(user=user, vendor_id=vendor_id, rows=rows)

    monkeypatch.setattr(imports, "products_bulk_create", breaks_on_the_second_chunk)
    job = queued(vendor)
    with pytest.raises(RuntimeError):
        imports.catalog_import_run(import_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created) == ("failed", 2, 2)
    assert "after 2 of 5 rows" in job.detail and job.finished_at is not None
    assert Product.objects.filter(vendor=vendor).count() == 2
    assert imports.catalog_imports_recover(now=later()) == {"requeued": 0, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_the_sweep_skips_an_import_whose_run_is_writing_a_chunk(vendor, monkeypatch):
    """With real threads on PostgreSQL: a run holds its import's row lock while it writes a
    chunk, so even a sweep that finds its heartbeat stale passes it by (``SKIP LOCKED``)."""
    write = imports.products_bulk_create
    inside, release = threading.Event(), threading.Event()
    results: list = []

    def waits_in_the_chunk(*, user, vendor_id, rows):
        inside.set()
        assert release.wait(30)
        return write(user=user, vendor_id=vendor_id, rows=rows)

    def run(job_id) -> None:
        try:
            results.append(imports.catalog_import_run(import_id=job_id))
        except BaseException as exc:  # reported below
            results.append(exc)
        finally:
            connection.close()

    monkeypatch.setattr(imports, "products_bulk_create", waits_in_the_chunk)
    job = queued(vendor)
    worker = threading.Thread(target=run, args=(job.pk,))
    worker.start()
    try:
        assert inside.wait(30)
        assert imports.catalog_imports_recover(now=later(30)) == {"requeued": 0, "failed": 0}
    finally:
        release.set()
        worker.join(30)
    job.refresh_from_db()
    assert (job.status, job.created, job.attempts) == ("done", 5, 1)
    assert [getattr(r, "status", r) for r in results] == ["done"]
