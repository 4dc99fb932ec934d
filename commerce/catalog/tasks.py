"""Celery tasks of the catalogue: the catalogue import job and the beat sweep that recovers
imports whose worker was lost (``commerce.catalog.imports``)."""

from __future__ import annotations

from celery import shared_task

from commerce.catalog.imports import catalog_import_run, catalog_imports_recover


@shared_task(name="commerce.tasks.run_catalog_import", acks_late=True, ignore_result=True)
def run_catalog_import(import_id: str) -> str | None:
    """Run one queued catalogue import (idempotent: a redelivered job finds it running or done
    and does nothing). Returns its final status."""
    job = catalog_import_run(import_id=import_id)
    return job.status if job is not None else None


@shared_task(name="commerce.tasks.recover_catalog_imports", acks_late=True, ignore_result=True)
def recover_catalog_imports() -> dict[str, int]:
    """Beat, every minute: resume (once) or fail the imports whose worker stopped sending
    heartbeats (``catalog_imports_recover``). Returns ``{"requeued", "failed"}``."""
    return catalog_imports_recover()
