"""Celery tasks of the catalogue: the catalogue import job (``commerce.catalog.imports``)."""

from __future__ import annotations

from celery import shared_task

from commerce.catalog.imports import catalog_import_run


@shared_task(name="commerce.tasks.run_catalog_import", acks_late=True, ignore_result=True)
def run_catalog_import(import_id: str) -> str | None:
    """Run one queued catalogue import (idempotent: a redelivered job finds it running or done
    and does nothing). Returns its final status."""
    job = catalog_import_run(import_id=import_id)
    return job.status if job is not None else None
