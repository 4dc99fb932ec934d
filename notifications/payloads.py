"""JSON shapes shared by the REST API and the ``user:<id>`` socket events."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType

from notifications.models import Notification


def target_dict(content_type_id: int | None, object_id: str) -> dict[str, str] | None:
    """``{"type": "<app_label>.<model>", "id": "<pk>"}`` of a notification's target, or None."""
    if not content_type_id or not object_id:
        return None
    ct = ContentType.objects.get_for_id(content_type_id)  # cached per process
    return {"type": f"{ct.app_label}.{ct.model}", "id": object_id}


def notification_dict(n: Notification) -> dict[str, Any]:
    """A notification as the client sees it (REST item and ``notification.created`` data)::

        {"id", "kind", "title", "body", "data", "target": {"type","id"} | null, "critical",
         "created_at", "seen_at", "read_at", "archived_at"}   (datetimes ISO 8601 UTC or null)
    """
    return {
        "id": str(n.id),
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "data": n.data,
        "target": target_dict(n.target_content_type_id, n.target_object_id),
        "critical": n.critical,
        "created_at": n.created_at,
        "seen_at": n.seen_at,
        "read_at": n.read_at,
        "archived_at": n.archived_at,
    }


def state_dict(n: Notification) -> dict[str, Any]:
    """``notification.updated`` data: ``{"id", "seen_at", "read_at", "archived_at"}``."""
    return {"id": str(n.id), "seen_at": n.seen_at, "read_at": n.read_at, "archived_at": n.archived_at}
