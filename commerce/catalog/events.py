"""The catalogue's event type (``realtime.events``): a catalogue import's progress, on the store's
``vendor:`` desk (``commerce.stores.events.VENDOR_TOPIC``), so the console shows a live progress
bar."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Event, EventSchema, Timestamp, Topics, one_of

from commerce.catalog.models import CatalogImport, CatalogImportStatus
from commerce.stores.events import VENDOR_TOPIC


class CatalogImportProgress(EventSchema):
    """A catalogue import started, advanced (every ``commerce.catalog.imports.PROGRESS_EVERY``
    rows) or ended: ``rows_done`` of ``total_rows``, how each went, errors so far. ``status``
    ``done`` or ``failed`` (the file could not be read: ``detail``) is the last event of an
    import; its error report is ``GET /api/v1/vendors/{vendor_id}/catalog-imports/{id}/errors/``."""

    type: ClassVar[str] = "catalog_import.progress"
    topics: ClassVar[Topics] = (VENDOR_TOPIC,)

    import_id: UUID
    file_name: str
    status: one_of(CatalogImportStatus.values)
    detail: str
    total_rows: Count
    rows_done: Count
    created: Count
    updated: Count
    unchanged: Count
    error_count: Count = Field(description="rows that did not go in (the report lists them)")
    started_at: Timestamp | None
    finished_at: Timestamp | None

    @classmethod
    def build(cls, *, job: CatalogImport) -> Event:
        return cls.event({"import_id": job.pk, "file_name": job.file_name, "status": job.status,
                          "detail": job.detail, "total_rows": job.total_rows, "rows_done": job.rows_done,
                          "created": job.created, "updated": job.updated, "unchanged": job.unchanged,
                          "error_count": job.error_count, "started_at": job.started_at,
                          "finished_at": job.finished_at})
