"""Reads of returns: a store's policy, the return payload (REST body and event data, rendered by
``commerce.returns.serializers``), what a viewer may do with a return now, the lists each side
sees, and how many units of an order are still returnable."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from core.exceptions import ApplicationError, NotFound
from core.utils import parse_uuid

from commerce.orders.models import Order, OrderStatus
from commerce.returns.models import (
    ESCALATABLE_STATUSES,
    RELEASED_STATUSES,
    ReturnLine,
    ReturnPhoto,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
    ReturnStatusChange,
)
from commerce.returns.permissions import can_handle_return, can_view_return, is_return_buyer, visible_returns_q
from commerce.stores.models import Vendor
from commerce.returns.serializers import (
    ReturnableOutputSerializer,
    ReturnDetailOutputSerializer,
    ReturnOutputSerializer,
    ReturnPolicyOutputSerializer,
)


def return_policy_for(vendor_id: Any) -> ReturnPolicy:
    """The store's :class:`ReturnPolicy`, or an unsaved one with the defaults (14 days, no
    restocking fee, ``as_new`` and ``opened`` back to stock). One query."""
    policy = ReturnPolicy.objects.filter(vendor_id=vendor_id).first()
    return policy if policy is not None else ReturnPolicy(vendor_id=vendor_id)


def return_policy_get(*, vendor_id: Any) -> ReturnPolicy:
    """:func:`return_policy_for` of an existing store. Raises ``NotFound`` ``vendor_not_found``."""
    vid = parse_uuid(vendor_id)
    if vid is None or not Vendor.objects.filter(pk=vid).exists():
        raise NotFound("Store not found.", code="vendor_not_found")
    return return_policy_for(vid)


def return_policy_data(policy: ReturnPolicy) -> dict[str, Any]:
    """``{"vendor_id", "window_days", "restocking_fee_max_percent": "10.00", "resellable_grades"}``."""
    return ReturnPolicyOutputSerializer(policy).data


def escalation_deadline(rma: ReturnRequest) -> datetime | None:
    """Until when the buyer may escalate a rejected return: ``RETURN_ESCALATION_DAYS`` (14)
    after the rejection (``decided_at``) or the refund decision that refunded nothing
    (``refunded_at``); None when the return is not rejected."""
    if rma.status not in ESCALATABLE_STATUSES:
        return None
    ended = rma.decided_at if rma.status == ReturnStatus.REJECTED else rma.refunded_at
    if ended is None:
        return None
    return ended + timedelta(days=float(getattr(settings, "RETURN_ESCALATION_DAYS", 14)))


def return_queryset() -> QuerySet[ReturnRequest]:
    """Returns with what :func:`return_data` reads joined or prefetched (a page of returns costs
    a fixed number of queries)."""
    return (ReturnRequest.objects.select_related("order", "order__vendor", "dispute")
            .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line").order_by("id")),
                              "photos"))


def return_data(rma: ReturnRequest) -> dict[str, Any]:
    """The return payload (REST list items and the ``return`` of every ``return.*`` event)::

        {"id", "number", "status", "reason", "description",
         "order": {"id", "number", "status", "currency", "total", "shipping_total",
                   "refunded_total", "delivered_at", "buyer_id", "vendor": {"id", "name"}},
         "lines": [{"id", "order_line_id", "product_id", "product_name", "sku", "unit_price",
                    "quantity", "grade", "restocked_quantity", "paid_amount", "restocking_fee",
                    "refund_amount"}],
         "photos": [{"id", "url", "content_type", "size", "width", "height"}],
         "window_ends_at", "decision": {"note", "decided_at"} | null,
         "transport": "courier" | "carrier" | null, "carrier", "tracking_number",
         "pickup_delivery_id", "shipped_at", "received_at",
         "inspection": {"note", "inspected_at"} | null,
         "refund": {"amount", "shipping", "restocking_fee_percent", "restocking_fee",
                    "source": "escrow" | "store_wallet" | null, "note", "refunded_at"} | null,
         "refund_error": code | null,
         "escalation": {"dispute_id", "status", "refund_amount", "escalated_at"} | null,
         "created_at", "updated_at"}

    Money as ``"12.50"`` strings in the order's currency; times ISO 8601 UTC."""
    return ReturnOutputSerializer(rma).data


def return_allowed_actions(user, rma: ReturnRequest, *, now: datetime | None = None) -> list[str]:
    """What ``user`` may do with the return now, sorted: the buyer ``cancel`` (requested or
    approved), ``ship`` (approved), ``escalate`` (rejected, not escalated, before
    :func:`escalation_deadline`); the store's handlers (``commerce.returns.permissions.can_handle_return``)
    ``approve`` / ``reject`` (requested), ``receive`` (in transit, no courier on the way),
    ``inspect`` (received), ``refund`` (inspected)."""
    now = now or timezone.now()
    actions: list[str] = []
    status = rma.status
    if is_return_buyer(user, rma):
        if status in (ReturnStatus.REQUESTED, ReturnStatus.APPROVED):
            actions.append("cancel")
        if status == ReturnStatus.APPROVED:
            actions.append("ship")
        deadline = escalation_deadline(rma)
        if rma.dispute_id is None and deadline is not None and now < deadline:
            actions.append("escalate")
    elif can_handle_return(user, rma):
        actions += {
            ReturnStatus.REQUESTED: ["approve", "reject"],
            ReturnStatus.IN_TRANSIT: [] if rma.pickup_delivery_open else ["receive"],
            ReturnStatus.RECEIVED: ["inspect"],
            ReturnStatus.INSPECTED: ["refund"],
        }.get(status, [])
    return sorted(actions)


def return_detail_data(rma: ReturnRequest, *, viewer) -> dict[str, Any]:
    """:func:`return_data` plus ``allowed_actions`` (:func:`return_allowed_actions` for
    ``viewer``) and ``history`` (``[{"from_status", "to_status", "reason", "created_at"}]``,
    oldest first)."""
    return ReturnDetailOutputSerializer(rma, context={"allowed_actions": return_allowed_actions(viewer, rma)}).data


def returns_for(*, user, status: str | None = None, order_id: Any = None) -> QuerySet[ReturnRequest]:
    """Returns ``user`` takes part in, newest first: as the buyer, as staff of the store, or all
    of them for marketplace admins (``commerce.returns.permissions.visible_returns_q``).
    ``status`` and ``order_id`` narrow (``ApplicationError`` ``invalid`` for an unknown status)."""
    qs = return_queryset().filter(visible_returns_q(user))
    if status:
        if status not in ReturnStatus.values:
            raise ApplicationError("Unknown return status.", code="invalid", fields={"status": ["Unknown status."]})
        qs = qs.filter(status=status)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    return qs.order_by("-created_at", "id")


def return_get_visible(*, user, return_id: Any) -> ReturnRequest:
    """The return if ``user`` may see it (``can_view_return``), with its lines, photos and history
    prefetched. Raises ``NotFound`` ``return_not_found`` otherwise (also for a malformed id)."""
    rid = parse_uuid(return_id)
    rma = (return_queryset().prefetch_related(Prefetch("status_changes", queryset=ReturnStatusChange.objects.order_by("id")))
           .filter(pk=rid).first() if rid else None)
    if rma is None or not can_view_return(user, rma):
        raise NotFound("Return not found.", code="return_not_found")
    return rma


def returned_quantities(*, order: Order) -> dict[int, int]:
    """``{order line id: units}`` of ``order`` that are returned or being returned: the lines of
    its returns in every status but ``rejected`` and ``cancelled``. One query."""
    rows = (ReturnLine.objects.filter(return_request__order=order)
            .exclude(return_request__status__in=list(RELEASED_STATUSES))
            .values("order_line_id").annotate(units=Sum("quantity")))
    return {row["order_line_id"]: row["units"] for row in rows}


def return_window_end(order: Order, policy: ReturnPolicy) -> datetime | None:
    """``delivered_at + window_days`` of the order's store policy; None before proven delivery."""
    return order.delivered_at + timedelta(days=policy.window_days) if order.delivered_at else None


def returnable_data(*, order: Order, now: datetime | None = None) -> dict[str, Any]:
    """What the buyer may still return of ``order``: ``{"order_id", "window_ends_at", "open",
    "lines": [{"order_line_id", "product_name", "sku", "quantity", "returnable_quantity"}]}``;
    ``open`` while the order is delivered and inside its store's return window."""
    now = now or timezone.now()
    ends = return_window_end(order, return_policy_for(order.vendor_id))
    taken = returned_quantities(order=order)
    lines = [{"order_line_id": line.pk, "product_name": line.product_name, "sku": line.sku, "quantity": line.quantity,
              "returnable_quantity": max(line.quantity - taken.get(line.pk, 0), 0)} for line in order.lines.all()]
    is_open = order.status == OrderStatus.DELIVERED and ends is not None and now <= ends
    return ReturnableOutputSerializer({"order_id": order.pk, "window_ends_at": ends, "open": is_open,
                                       "lines": lines}).data


def return_photo_get_visible(*, user, photo_id: Any) -> ReturnPhoto:
    """A return photo for ``user``: the uploader while it is unattached, then whoever may see its
    return (``can_view_return``). Raises ``NotFound`` ``photo_not_found`` otherwise."""
    pk = parse_uuid(photo_id)
    photo = ReturnPhoto.objects.select_related("return_request__order").filter(pk=pk).first() if pk else None
    allowed = photo is not None and (can_view_return(user, photo.return_request) if photo.return_request_id
                                     else photo.uploaded_by_id == getattr(user, "pk", None))
    if not allowed:
        raise NotFound("Photo not found.", code="photo_not_found")
    return photo


def fully_refunded_line_ids(*, order: Order) -> set[int]:
    """Ids of the lines of ``order`` whose every unit came back in a refunded return with money
    refunded for it (``refunded`` or ``partially_refunded``, the line's ``refund_amount`` above
    zero): the buyer no longer has the product (reviews: such a line cannot be reviewed and its
    review stops counting). One query."""
    rows = (ReturnLine.objects.filter(return_request__order=order, refund_amount__gt=0,
                                      return_request__status__in=[ReturnStatus.REFUNDED, ReturnStatus.PARTIALLY_REFUNDED])
            .values("order_line_id", "order_line__quantity").annotate(units=Sum("quantity")))
    return {row["order_line_id"] for row in rows if row["units"] >= row["order_line__quantity"]}
