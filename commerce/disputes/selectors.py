"""Reads of disputes: who takes which side, the dispute payload (REST body and event data), the
lists each party sees, and the facts the rooms below ask through their hooks (open disputes
freeze escrows; the store desk counts them)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.exceptions import ApplicationError, Forbidden, NotFound
from core.permissions import is_marketplace_admin
from core.utils import parse_uuid

from commerce.disputes.models import Dispute, DisputeStatement, DisputeStatus
from commerce.disputes.permissions import can_see_dispute_queue, can_view_dispute, visible_disputes_q
from commerce.disputes.serializers import (
    DisputeDetailOutputSerializer,
    DisputeOutputSerializer,
    DisputeStatementOutputSerializer,
)
from commerce.orders.models import Order


def statement_data(st: DisputeStatement, *, staff_viewer: bool) -> dict[str, Any]:
    """A statement's payload, rendered by :class:`commerce.disputes.serializers.DisputeStatementOutputSerializer`:
    ``{"id", "role", "author_name", "text", "created_at"}``; staff authors show as "Marketplace
    staff" unless ``staff_viewer``."""
    return DisputeStatementOutputSerializer(st, context={"staff_viewer": staff_viewer}).data


def statement_data_for(*, user, statement: DisputeStatement) -> dict[str, Any]:
    """:func:`statement_data` as ``user`` sees it (marketplace staff see staff authors' names)."""
    return statement_data(statement, staff_viewer=is_marketplace_admin(user))


def dispute_data(dispute: Dispute, *, viewer=None, with_statements: bool = False) -> dict[str, Any]:
    """The dispute payload (REST body and event data), rendered by
    :class:`commerce.disputes.serializers.DisputeOutputSerializer` (with ``with_statements``,
    :class:`~commerce.disputes.serializers.DisputeDetailOutputSerializer`)::

        {"id", "order": {"id", "number", "status", "currency", "total", "refunded_total",
         "buyer_id", "vendor": {"id", "name"}}, "source", "reason", "description",
         "claimed_amount", "currency", "status", "store_responded_at",
         "resolution": {"refund_amount", "released_amount", "note", "resolved_at"} | null,
         "withdrawn_at", "created_at", "updated_at", "statements"?: [{"id", "role",
         "author_name", "text", "created_at"}]}

    Money as ``"12.50"`` strings; times ISO 8601 UTC. Marketplace staff viewers also get
    ``resolution.resolved_by_id`` and staff authors' names."""
    staff_viewer = is_marketplace_admin(viewer)
    cls = DisputeDetailOutputSerializer if with_statements else DisputeOutputSerializer
    return cls(dispute, context={"staff_viewer": staff_viewer}).data


def _base() -> QuerySet[Dispute]:
    return Dispute.objects.select_related("order", "order__vendor")


def disputes_for(*, user, status: str | None = None) -> QuerySet[Dispute]:
    """Disputes ``user`` takes part in, newest first: as the buyer, as staff of the store, or all
    of them for marketplace admins (``commerce.disputes.permissions.visible_disputes_q``).
    ``status`` narrows (``ApplicationError`` ``invalid`` when unknown)."""
    qs = _base().filter(visible_disputes_q(user))
    if status:
        if status not in DisputeStatus.values:
            raise ApplicationError("Unknown dispute status.", code="invalid", fields={"status": ["Unknown status."]})
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "id")


def disputes_queue(*, user) -> QuerySet[Dispute]:
    """The staff queue: open disputes, oldest first (the one waiting longest on top). Raises
    ``Forbidden`` ``staff_only``."""
    if not can_see_dispute_queue(user):
        raise Forbidden("Only marketplace staff see the dispute queue.", code="staff_only")
    return _base().filter(status=DisputeStatus.OPEN).order_by("created_at", "id")


def dispute_get_visible(*, user, dispute_id: Any) -> Dispute:
    """The dispute if ``user`` is one of its parties (buyer, store staff, marketplace staff).
    Raises ``NotFound`` ``dispute_not_found`` otherwise (also for a malformed id)."""
    did = parse_uuid(dispute_id)
    dispute = _base().filter(pk=did).first() if did else None
    if dispute is None or not can_view_dispute(user, dispute):
        raise NotFound("Dispute not found.", code="dispute_not_found")
    return dispute


def open_disputes() -> QuerySet[Dispute]:
    """Every open dispute (what freezes an order's escrow). Provides the payments room's
    ``open_disputes`` hook."""
    return Dispute.objects.filter(status=DisputeStatus.OPEN)


def buyer_has_disputed(*, order: Order) -> bool:
    """Whether the buyer ever opened a dispute about ``order`` (any status). Provides the payments
    room's ``buyer_has_disputed`` hook."""
    return Dispute.objects.filter(order=order, source="buyer").exists()


def vendor_desk_disputes(*, vendor) -> dict[str, Any]:
    """``{"open_disputes": n}`` of ``vendor``'s orders, for the ``vendor:`` topic snapshot
    (provides the orders room's ``vendor_desk_extras`` hook)."""
    return {"open_disputes": Dispute.objects.filter(order__vendor=vendor, status=DisputeStatus.OPEN).count()}
