"""Returns (RMA): a buyer sends lines of a delivered order back; the store approves, receives,
inspects and refunds; a rejected return can be escalated to marketplace staff.

State map (one owner, this module: :data:`commerce.returns.models.RETURN_MACHINE`; anything else
is ``core.fsm.InvalidTransition``, 409 ``invalid_transition``)::

    requested -> approved | rejected                        (the store, with a note / a reason)
    approved  -> in_transit                                 (the courier picked it up, or the buyer
                                                             entered a carrier's tracking number)
    in_transit -> received                                  (proof of delivery at the store, or the
                                                             store marks a carrier's parcel received)
    received  -> inspected                                  (the store grades every line; resellable
                                                             grades go back to stock, once)
    inspected -> refunded | partially_refunded | rejected_after_inspection
                                                            (the store's refund decision)
    requested | approved -> cancelled                       (the buyer, before the parcel left)

**Request** (:func:`return_request`, the buyer): lines of a ``delivered`` order with a quantity
each, never more than was bought minus what is returned or being returned (every return but
``rejected`` and ``cancelled``, :func:`commerce.returns.selectors.returned_quantities`); only
until the store's return window ends (``ReturnPolicy.window_days`` after proven delivery,
default 14: the EU right of withdrawal); a reason code (:class:`~commerce.returns.models.ReturnReason`),
a text and up to :data:`MAX_PHOTOS` photos uploaded before (:func:`return_photo_upload`: decoded
and re-encoded by ``core.images.sanitize_image``). Not while a dispute of the order is open.

**Transport** (:func:`return_ship`, the buyer, once approved): ``courier`` sends the
``return_pickup_requested`` signal; the delivery app creates a return delivery any courier can
claim (pickup at the order's address, drop-off at the store's pickup point, the PIN shown to the
store's staff) and calls back :func:`return_delivery_picked_up` (→ ``in_transit``),
:func:`return_delivery_delivered` (proof at the store → ``received``) and
:func:`return_delivery_failed`. ``carrier`` with a tracking number moves it ``in_transit`` at
once, and the store marks it received (:func:`return_receive`).

**Inspection and refund** (:func:`return_inspect`, :func:`return_refund`; the store's staff with
a returns role, or a marketplace admin): the rules of the money are
``commerce.returns.refunds``. The money comes from the order's escrow while it is still held
(a partial release of the escrow to the buyer), else from the store's wallet (ledger kind
``return_refund``), through ``commerce.payments.services.refund_locked`` like every refund: a
card payment is refunded at its gateway, a wallet payment to the buyer's wallet. A refund the
money cannot cover (the store's wallet) is refused with its code, recorded in ``refund_error``,
and the return stays ``inspected`` until a retry succeeds.

**Escalation** (:func:`return_escalate`, the buyer): a ``rejected`` or
``rejected_after_inspection`` return, within ``RETURN_ESCALATION_DAYS`` (14), becomes a dispute
(``commerce.disputes.services.dispute_open_locked(source="return")``) that marketplace staff
decide.

Events (after commit, on the buyer's ``user:<id>`` and the store's ``vendor:<id>``):
``return.requested`` ``{"return"}``, ``return.status_changed`` ``{"return", "from", "to",
"reason"}``, ``return.updated`` ``{"return", "change"}`` (``courier_requested``,
``transport_reset``, ``courier_failed``, ``refund_failed``, ``escalated``); ``return`` is
:func:`commerce.returns.selectors.return_data`. Notifications: ``return.requested`` (the store's
return handlers), ``return.updated`` (the other side of every move).

Lock order: **order → its return → payment, escrow → products → carts → wallets** (every write
to a return locks its order first, so a return, its delivery, a dispute and the escrow release
of one order never interleave).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.utils import parse_uuid
from notifications.kinds import EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime.events import Event
from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from commerce.catalog.services import products_adjust_stock
from commerce.common.photos import photo_store, photos_purge
from commerce.disputes.services import dispute_open_locked
from commerce.orders.events import VENDOR_TOPIC
from commerce.orders.models import Order, OrderStatus
from commerce.orders.permissions import is_order_buyer
from commerce.orders.services import lock_order, lock_visible_order
from commerce.payments.escrow import lock_escrow, open_dispute_id
from commerce.payments.models import PaymentStatus
from commerce.payments.services import refund_locked
from commerce.returns import refunds
from commerce.returns.events import ReturnRequested, ReturnStatusChanged, ReturnUpdated
from commerce.returns.models import (
    ESCALATABLE_STATUSES,
    RETURN_MACHINE,
    STORE_FAULT_REASONS,
    RefundSource,
    ReturnGrade,
    ReturnLine,
    ReturnPhoto,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    ReturnStatusChange,
    ReturnTransport,
)
from commerce.returns.permissions import (
    RETURN_HANDLER_ROLES,
    can_edit_return_policy,
    can_handle_return,
    can_view_return,
    is_return_buyer,
)
from commerce.returns.selectors import (
    escalation_deadline,
    fully_refunded_line_ids,
    return_policy_for,
    return_window_end,
    returned_quantities,
)
from commerce.returns.signals import return_pickup_cancelled, return_pickup_requested
from commerce.reviews.services import reviews_lines_refunded
from commerce.stores.models import Vendor, VendorStaff
from commerce.wallet import services as wallets
from commerce.wallet.models import EscrowStatus, LedgerKind

MAX_TEXT = 4000
#: photos per return (the issue's limit)
MAX_PHOTOS = 5
#: bytes per photo before re-encoding (``RETURN_MAX_PHOTO_BYTES``)
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: photos a buyer may have uploaded and not attached yet (``RETURN_MAX_UNATTACHED_PHOTOS``)
MAX_UNATTACHED_PHOTOS = 20

RETURN_REQUESTED = register_kind(
    "return.requested",
    description="A buyer asked to return items of an order of your store.",
    default_channels=(IN_APP, EMAIL),
)
RETURN_UPDATED = register_kind(
    "return.updated",
    description="A return you take part in moved on (approved, rejected, shipped, received, inspected, refunded, "
    "cancelled, escalated) or needs you.",
    default_channels=(IN_APP, EMAIL),
)

#: how a return's reason maps to a dispute's reason when it is escalated
DISPUTE_REASONS = {
    ReturnReason.WRONG_ITEM: "wrong_item",
    ReturnReason.DAMAGED: "damaged",
    ReturnReason.NOT_AS_DESCRIBED: "not_as_described",
    ReturnReason.CHANGED_MIND: "other",
    ReturnReason.OTHER: "other",
}


def return_number(return_id: uuid.UUID) -> str:
    """The return's public number: ``"RT-"`` and the first ten hex digits of its id, upper case."""
    return "RT-" + return_id.hex[:10].upper()


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _text(value: Any, field: str, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ApplicationError(f"{field} is required.", code="invalid", fields={field: ["This field is required."]})
    if len(text) > MAX_TEXT:
        raise ApplicationError(f"{field} is longer than {MAX_TEXT} characters.", code="invalid",
                               fields={field: [f"At most {MAX_TEXT} characters."]})
    return text


def _handler_ids(order: Order) -> list[uuid.UUID]:
    """The store's staff who handle returns (notified of requests and buyer moves)."""
    return list(VendorStaff.objects.filter(vendor_id=order.vendor_id, role__in=RETURN_HANDLER_ROLES)
                .values_list("user_id", flat=True))


def _publish(rma: ReturnRequest, event: Event) -> None:
    """Publish ``event`` (after commit, through the outbox) to the buyer and the store's desk."""
    publish(topic=USER_TOPIC.name(rma.order.buyer_id), event=event)
    publish(topic=VENDOR_TOPIC.name(rma.order.vendor_id), event=event)


def _notify(recipients: Iterable[Any], rma: ReturnRequest, *, kind: str, title: str, body: str, exclude=None) -> None:
    people = [r for r in dict.fromkeys(recipients) if r != exclude]
    if people:
        notify(recipients=people, kind=kind, title=title[:200], body=body[:1000],
               data={"return_id": str(rma.pk), "order_id": str(rma.order_id), "number": rma.number,
                     "status": rma.status, "url": f"/returns/{rma.pk}"}, target=rma)


def _lock(return_id: Any) -> tuple[Order, ReturnRequest]:
    """Lock the return's order, then the return (the project's lock order). Raises ``NotFound``
    ``return_not_found``."""
    rid = parse_uuid(return_id)
    order_id = ReturnRequest.objects.filter(pk=rid).values_list("order_id", flat=True).first() if rid else None
    if order_id is None:
        raise NotFound("Return not found.", code="return_not_found")
    order = lock_order(order_id)
    rma = ReturnRequest.objects.select_for_update(of=("self",)).get(pk=rid)
    rma.order = order
    return order, rma


def _require_buyer(user, rma: ReturnRequest, *, doing: str) -> None:
    """Only the buyer ``doing``: strangers get ``NotFound`` (nothing to learn), the store and
    staff ``Forbidden`` ``return_action_not_allowed``."""
    if is_return_buyer(user, rma):
        return
    if not can_view_return(user, rma):
        raise NotFound("Return not found.", code="return_not_found")
    raise Forbidden(f"Only the buyer {doing}.", code="return_action_not_allowed")


def _require_handler(user, rma: ReturnRequest, *, doing: str) -> None:
    """Only the store's return handlers and marketplace admins ``doing``: strangers get
    ``NotFound``, the buyer and the store's other staff ``Forbidden`` ``return_action_not_allowed``."""
    if can_handle_return(user, rma):
        return
    if not can_view_return(user, rma):
        raise NotFound("Return not found.", code="return_not_found")
    raise Forbidden(f"Only the store's return handlers or marketplace staff {doing}.", code="return_action_not_allowed")


#: who is told of a move: ``buyer``, ``store`` (its return handlers) or ``both``
BUYER, STORE, BOTH = "buyer", "store", "both"


def _move(rma: ReturnRequest, to_status: str, *, actor=None, reason: str = "", at: datetime | None = None,
          tell: str = BUYER) -> None:
    """Move a locked return along the map: status, audit row, ``return.status_changed``, and a
    ``return.updated`` notification to ``tell`` (the other side of whoever moved it; never the
    actor)."""
    RETURN_MACHINE.check(rma.status, to_status)
    from_status = rma.status
    rma.status = to_status
    rma.updated_at = at or timezone.now()
    rma.save()
    ReturnStatusChange.objects.create(return_request=rma, from_status=from_status, to_status=to_status,
                                      actor=actor if getattr(actor, "pk", None) else None, reason=(reason or "")[:200])
    _publish(rma, ReturnStatusChanged.build(rma=rma, previous=from_status, reason=reason))
    recipients = ([rma.order.buyer_id] if tell in (BUYER, BOTH) else []) + (
        _handler_ids(rma.order) if tell in (STORE, BOTH) else [])
    label = ReturnStatus(to_status).label.lower()
    _notify(recipients, rma, kind=RETURN_UPDATED.name, exclude=getattr(actor, "pk", None),
            title=f"Return {rma.number} (order {rma.order.number}): {label}",
            body=f"Return {rma.number} is now {label}." + (f" {reason}" if reason else ""))


# --- photos ----------------------------------------------------------------------------------


def return_photo_upload(*, user, file) -> ReturnPhoto:
    """Store a photo for a later :func:`return_request` (``photo_ids``): JPEG, PNG, GIF or WebP
    by content, at most ``RETURN_MAX_PHOTO_BYTES`` (5 MiB), **decoded and re-encoded** without
    EXIF/GPS or other metadata (``core.images.sanitize_image``); what is stored and served is the
    re-encoded image. Unattached photos are the uploader's only and are purged after a day
    (:func:`return_photos_purge`). Raises ``ApplicationError`` 400 ``invalid_image`` /
    ``image_too_large``, ``Conflict`` ``too_many_unattached_photos`` (over
    ``RETURN_MAX_UNATTACHED_PHOTOS``, 20)."""
    return photo_store(ReturnPhoto, user=user, file=file, attached_field="return_request",
                       max_bytes=_setting("RETURN_MAX_PHOTO_BYTES", MAX_PHOTO_BYTES),
                       max_unattached=_setting("RETURN_MAX_UNATTACHED_PHOTOS", MAX_UNATTACHED_PHOTOS))


def return_photos_purge(*, now: datetime | None = None, older_than_hours: float = 24) -> int:
    """Delete photos never attached to a return, uploaded more than ``older_than_hours`` ago,
    with their files (Celery beat, hourly). Returns how many."""
    return photos_purge(ReturnPhoto, attached_field="return_request", now=now, older_than_hours=older_than_hours)


# --- request ---------------------------------------------------------------------------------


def _clean_lines(lines: Any) -> dict[int, int]:
    """``[{"order_line_id", "quantity"}]`` as ``{order line id: quantity}``. Raises
    ``ApplicationError`` ``invalid`` (empty, malformed, a line twice, a quantity below 1)."""
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ApplicationError("Name at least one line to return.", code="invalid", fields={"lines": ["Required."]})
    wanted: dict[int, int] = {}
    for item in lines:
        line_id = item.get("order_line_id") if isinstance(item, dict) else None
        qty = item.get("quantity") if isinstance(item, dict) else None
        if (isinstance(line_id, bool) or not isinstance(line_id, int) or isinstance(qty, bool)
                or not isinstance(qty, int) or qty < 1):
            raise ApplicationError("Each line needs an order_line_id and a quantity of at least 1.", code="invalid",
                                   fields={"lines": ["Each line: {order_line_id, quantity >= 1}."]})
        if line_id in wanted:
            raise ApplicationError("A line is named twice.", code="invalid", fields={"lines": ["A line is named twice."]})
        wanted[line_id] = qty
    return wanted


def _clean_photo_ids(photo_ids: Any) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(parse_uuid(p) for p in (photo_ids or [])))
    if None in ids:
        raise ApplicationError("Unknown photo.", code="invalid_photo", fields={"photo_ids": ["Not a photo id."]})
    if len(ids) > MAX_PHOTOS:
        raise ApplicationError(f"At most {MAX_PHOTOS} photos per return.", code="too_many_photos",
                               fields={"photo_ids": [f"At most {MAX_PHOTOS}."]})
    return ids


def _check_returnable(order: Order, wanted: dict[int, int]) -> None:
    """Every wanted line is a line of ``order`` and asks at most what is returnable: bought minus
    returned or being returned. Raises ``ApplicationError`` ``invalid`` (not a line of the
    order), ``Conflict`` ``quantity_exceeds_returnable`` (with ``lines``: ``[{"order_line_id",
    "requested", "returnable"}]``)."""
    bought = dict(order.lines.values_list("pk", "quantity"))
    unknown = sorted(set(wanted) - set(bought))
    if unknown:
        raise ApplicationError("Not a line of this order.", code="invalid",
                               fields={"lines": [f"Order line {unknown[0]} is not part of order {order.number}."]})
    taken = returned_quantities(order=order)
    short = [{"order_line_id": lid, "requested": qty, "returnable": max(bought[lid] - taken.get(lid, 0), 0)}
             for lid, qty in sorted(wanted.items()) if qty > bought[lid] - taken.get(lid, 0)]
    if short:
        raise Conflict("More units than you can still return.", code="quantity_exceeds_returnable",
                       extra={"lines": short})


def return_request(*, user, order_id: Any, lines: Any, reason: str, description: str = "",
                   photo_ids: Any = (), now: datetime | None = None) -> ReturnRequest:
    """The buyer asks to return ``lines`` (``[{"order_line_id", "quantity"}]``) of delivered order
    ``order_id`` for ``reason``, with ``description`` and up to :data:`MAX_PHOTOS` of their
    uploaded, unattached photos (``photo_ids``). Publishes ``return.requested``; notifies the
    store's return handlers.

    Raises ``NotFound`` ``order_not_found`` (not visible), ``Forbidden`` ``return_not_allowed``
    (not the buyer), ``Conflict`` ``not_delivered`` (delivery not proven, or the order was
    cancelled or refunded), ``return_window_closed`` (with ``window_ends_at``), ``dispute_open``,
    ``quantity_exceeds_returnable``; ``ApplicationError`` ``invalid`` (reason, lines, text),
    ``invalid_photo`` (not an unattached photo of yours), ``too_many_photos``."""
    now = now or timezone.now()
    if reason not in ReturnReason.values:
        raise ApplicationError("Unknown reason.", code="invalid",
                               fields={"reason": [f"One of {', '.join(ReturnReason.values)}."]})
    description = _text(description, "description", required=False)
    wanted = _clean_lines(lines)
    photo_pks = _clean_photo_ids(photo_ids)
    with transaction.atomic():
        order = lock_visible_order(user=user, order_id=order_id)
        if not is_order_buyer(user, order):
            raise Forbidden("Only the buyer can return items of an order.", code="return_not_allowed")
        if order.status != OrderStatus.DELIVERED or order.delivered_at is None:
            raise Conflict(f"Order {order.number} is {order.status}; items can be returned once it is delivered.",
                           code="not_delivered", extra={"status": order.status})
        ends = return_window_end(order, return_policy_for(order.vendor_id))
        if now > ends:
            raise Conflict(f"The return window of order {order.number} ended on {ends:%Y-%m-%d %H:%M} UTC.",
                           code="return_window_closed", extra={"window_ends_at": ends.isoformat()})
        dispute_id = open_dispute_id(order_id=order.pk)
        if dispute_id is not None:
            raise Conflict("A dispute about this order is open; marketplace staff will decide it.",
                           code="dispute_open", extra={"dispute_id": str(dispute_id)})
        _check_returnable(order, wanted)
        photos = list(ReturnPhoto.objects.select_for_update().filter(pk__in=photo_pks, uploaded_by=user,
                                                                     return_request=None))
        if len(photos) != len(photo_pks):
            raise ApplicationError("Unknown photo: upload it first (POST /api/v1/returns/photos/).",
                                   code="invalid_photo", fields={"photo_ids": ["Not an unattached photo of yours."]})
        rid = uuid.uuid4()
        rma = ReturnRequest.objects.create(id=rid, number=return_number(rid), order=order, reason=reason,
                                           description=description, window_ends_at=ends)
        rma.order = order
        ReturnLine.objects.bulk_create([ReturnLine(return_request=rma, order_line_id=lid, quantity=qty)
                                        for lid, qty in sorted(wanted.items())])
        if photos:
            ReturnPhoto.objects.filter(pk__in=photo_pks).update(return_request=rma)
        ReturnStatusChange.objects.create(return_request=rma, from_status="", to_status=ReturnStatus.REQUESTED,
                                          actor=user, reason=reason)
        _publish(rma, ReturnRequested.build(rma=rma))
        units = sum(wanted.values())
        _notify(_handler_ids(order), rma, kind=RETURN_REQUESTED.name,
                title=f"Return {rma.number} requested (order {order.number})",
                body=f"{units} unit{'s' if units != 1 else ''}, {ReturnReason(reason).label.lower()}: {description[:300]}")
        return rma


# --- the store's decision ----------------------------------------------------------------------


def return_approve(*, user, return_id: Any, note: str = "", now: datetime | None = None) -> ReturnRequest:
    """The store approves a requested return (``note`` for the buyer, e.g. where to send it).
    Raises ``NotFound`` ``return_not_found``, ``Forbidden`` ``return_action_not_allowed``,
    ``core.fsm.InvalidTransition``."""
    note = _text(note, "note", required=False)
    with transaction.atomic():
        _order, rma = _lock(return_id)
        _require_handler(user, rma, doing="approve returns")
        RETURN_MACHINE.check(rma.status, ReturnStatus.APPROVED)
        rma.decision_note, rma.decided_by, rma.decided_at = note, user, now or timezone.now()
        _move(rma, ReturnStatus.APPROVED, actor=user, reason=note)
        return rma


def return_reject(*, user, return_id: Any, reason: str, now: datetime | None = None) -> ReturnRequest:
    """The store rejects a requested return with a ``reason`` (required; the buyer may escalate
    it). Raises like :func:`return_approve`, and ``ApplicationError`` ``invalid`` without a
    reason."""
    reason = _text(reason, "reason", required=True)
    with transaction.atomic():
        _order, rma = _lock(return_id)
        _require_handler(user, rma, doing="reject returns")
        RETURN_MACHINE.check(rma.status, ReturnStatus.REJECTED)
        rma.decision_note, rma.decided_by, rma.decided_at = reason, user, now or timezone.now()
        _move(rma, ReturnStatus.REJECTED, actor=user, reason=reason)
        return rma


def return_cancel(*, user, return_id: Any) -> ReturnRequest:
    """The buyer cancels a return before the parcel left (requested or approved); an open
    courier pickup is cancelled with it (``return_pickup_cancelled``). Raises ``NotFound``,
    ``Forbidden`` ``return_action_not_allowed``, ``core.fsm.InvalidTransition`` (in transit and
    later)."""
    with transaction.atomic():
        _order, rma = _lock(return_id)
        _require_buyer(user, rma, doing="cancels a return")
        RETURN_MACHINE.check(rma.status, ReturnStatus.CANCELLED)
        if rma.pickup_delivery_open:
            return_pickup_cancelled.send(sender=ReturnRequest, return_request=rma, actor=user, reason="return_cancelled")
            rma.pickup_delivery_open = False
        _move(rma, ReturnStatus.CANCELLED, actor=user, reason="cancelled by the buyer", tell=STORE)
        return rma


# --- transport -------------------------------------------------------------------------------


def return_ship(*, user, return_id: Any, transport: str, carrier: str = "", tracking_number: str = "",
                now: datetime | None = None) -> ReturnRequest:
    """The buyer says how an approved return travels.

    * ``courier``: a return delivery is created for the courier flow (``return_pickup_requested``;
      idempotent while one is open); the return moves ``in_transit`` when the courier picks it up.
    * ``carrier`` with ``carrier`` and ``tracking_number``: the return is ``in_transit`` now (an
      open courier pickup is cancelled); the store marks it received.

    Raises ``NotFound``, ``Forbidden`` ``return_action_not_allowed``,
    ``core.fsm.InvalidTransition`` (not approved: from ``approved`` only), ``ApplicationError``
    ``invalid`` (transport, carrier fields), ``Conflict`` ``courier_unavailable`` (no delivery
    app answered)."""
    now = now or timezone.now()
    if transport not in ReturnTransport.values:
        raise ApplicationError("transport must be courier or carrier.", code="invalid",
                               fields={"transport": [f"One of {', '.join(ReturnTransport.values)}."]})
    if transport == ReturnTransport.CARRIER:
        carrier = _text(carrier, "carrier", required=True)[:60]
        tracking_number = _text(tracking_number, "tracking_number", required=True)[:64]
    with transaction.atomic():
        _order, rma = _lock(return_id)
        _require_buyer(user, rma, doing="ships a return")
        RETURN_MACHINE.check(rma.status, ReturnStatus.IN_TRANSIT,
                             detail=None if rma.status != ReturnStatus.REQUESTED
                             else "The store has not approved this return yet.")
        if transport == ReturnTransport.COURIER:
            if rma.transport == ReturnTransport.COURIER and rma.pickup_delivery_open:
                return rma
            answers = [r for _recv, r in return_pickup_requested.send(sender=ReturnRequest, return_request=rma) if r]
            if not answers:
                raise Conflict("No courier service takes returns here; send it with a carrier.",
                               code="courier_unavailable")
            rma.transport, rma.pickup_delivery_id, rma.pickup_delivery_open = transport, answers[0], True
            rma.carrier = rma.tracking_number = ""
            rma.save()
            _publish(rma, ReturnUpdated.build(rma=rma, change="courier_requested"))
            return rma
        if rma.pickup_delivery_open:
            return_pickup_cancelled.send(sender=ReturnRequest, return_request=rma, actor=user, reason="carrier_chosen")
            rma.pickup_delivery_open = False
        rma.transport, rma.carrier, rma.tracking_number, rma.shipped_at = transport, carrier, tracking_number, now
        _move(rma, ReturnStatus.IN_TRANSIT, actor=user, reason=f"{carrier} {tracking_number}", at=now, tell=STORE)
        return rma


def return_delivery_picked_up(*, return_id: Any, actor=None, at: datetime | None = None) -> ReturnRequest:
    """The courier picked the parcel up at the buyer's (the delivery app, with the order
    locked): ``approved → in_transit``. Idempotent once in transit."""
    with transaction.atomic():
        _order, rma = _lock(return_id)
        if rma.status == ReturnStatus.IN_TRANSIT:
            return rma
        rma.shipped_at = at or timezone.now()
        _move(rma, ReturnStatus.IN_TRANSIT, actor=actor, reason="picked up by the courier", at=rma.shipped_at,
              tell=BOTH)
        return rma


def return_delivery_delivered(*, return_id: Any, actor=None, at: datetime | None = None) -> ReturnRequest:
    """The courier completed the return delivery at the store with the PIN (the delivery app,
    with the order locked): proof of delivery, ``in_transit → received``."""
    with transaction.atomic():
        _order, rma = _lock(return_id)
        rma.pickup_delivery_open = False
        rma.received_at = at or timezone.now()
        _move(rma, ReturnStatus.RECEIVED, actor=actor, reason="delivered to the store with the PIN", at=rma.received_at)
        return rma


def return_delivery_failed(*, return_id: Any, reason: str = "", actor=None) -> ReturnRequest:
    """The return delivery failed or was cancelled (the delivery app, with the order locked).
    Before the pickup the return stays ``approved`` with no transport: the buyer chooses again
    (``return.updated`` ``transport_reset``). After it, the return stays ``in_transit`` and the
    store marks it received when the parcel reaches it (``courier_failed``)."""
    with transaction.atomic():
        _order, rma = _lock(return_id)
        if not rma.pickup_delivery_open:
            return rma
        rma.pickup_delivery_open = False
        if rma.status == ReturnStatus.APPROVED:
            rma.transport = ""
            rma.save()
            _publish(rma, ReturnUpdated.build(rma=rma, change="transport_reset"))
            _notify([rma.order.buyer_id], rma, kind=RETURN_UPDATED.name,
                    title=f"Return {rma.number}: the courier could not collect it",
                    body=f"{reason} Choose a courier again or send it with a carrier.".strip())
        else:
            rma.save()
            _publish(rma, ReturnUpdated.build(rma=rma, change="courier_failed"))
            _notify(_handler_ids(rma.order), rma, kind=RETURN_UPDATED.name,
                    title=f"Return {rma.number}: the courier delivery failed",
                    body=f"{reason} Mark the return received when the parcel reaches you.".strip())
        return rma


def return_receive(*, user, return_id: Any, now: datetime | None = None) -> ReturnRequest:
    """The store marks a return that travels with a carrier (or whose courier delivery failed
    after the pickup) received. Raises ``NotFound``, ``Forbidden`` ``return_action_not_allowed``,
    ``core.fsm.InvalidTransition``, ``Conflict`` ``return_delivery_open`` (a courier brings it:
    it is received when the courier completes with the store's PIN)."""
    now = now or timezone.now()
    with transaction.atomic():
        _order, rma = _lock(return_id)
        _require_handler(user, rma, doing="mark returns received")
        RETURN_MACHINE.check(rma.status, ReturnStatus.RECEIVED)
        if rma.pickup_delivery_open:
            raise Conflict("A courier brings this return; it is received when the courier completes the delivery "
                           "with your PIN.", code="return_delivery_open",
                           extra={"delivery_id": str(rma.pickup_delivery_id)})
        rma.received_at = now
        _move(rma, ReturnStatus.RECEIVED, actor=user, reason="received by the store", at=now)
        return rma


# --- inspection and refund ---------------------------------------------------------------------


def return_inspect(*, user, return_id: Any, grades: Any, note: str = "", now: datetime | None = None) -> ReturnRequest:
    """The store grades every line of a received return (``grades``: ``[{"id": return line id,
    "grade"}]``, each line exactly once): ``received → inspected``. Units of lines graded one of
    the store's resellable grades (``ReturnPolicy.resellable_grades``, default ``as_new`` and
    ``opened``) go back to stock (``commerce.catalog.services.products_adjust_stock``, reason
    ``return:<number>``), exactly once: the move is made under the locks, so a second inspection
    gets ``InvalidTransition``. Raises ``NotFound``, ``Forbidden`` ``return_action_not_allowed``,
    ``core.fsm.InvalidTransition``, ``ApplicationError`` ``invalid`` (a line missing, unknown or
    twice, an unknown grade)."""
    now = now or timezone.now()
    note = _text(note, "note", required=False)
    given: dict[int, str] = {}
    for item in grades if isinstance(grades, (list, tuple)) else []:
        line_id, grade = (item.get("id"), item.get("grade")) if isinstance(item, dict) else (None, None)
        if not isinstance(line_id, int) or isinstance(line_id, bool) or grade not in ReturnGrade.values or line_id in given:
            raise ApplicationError("Grade each line once: {id, grade}.", code="invalid",
                                   fields={"lines": [f"Grades are {', '.join(ReturnGrade.values)}; each line once."]})
        given[line_id] = grade
    with transaction.atomic():
        order, rma = _lock(return_id)
        _require_handler(user, rma, doing="inspect returns")
        RETURN_MACHINE.check(rma.status, ReturnStatus.INSPECTED)
        lines = list(rma.lines.select_related("order_line").order_by("id"))
        if set(given) != {line.pk for line in lines}:
            raise ApplicationError("Grade every line of the return once.", code="invalid",
                                   fields={"lines": ["Grade every line of the return exactly once."]})
        resellable = set(return_policy_for(order.vendor_id).resellable_grades)
        changes: dict[uuid.UUID, int] = defaultdict(int)
        for line in lines:
            line.grade = given[line.pk]
            if line.grade in resellable and line.grade != ReturnGrade.NOT_RETURNED and line.order_line.product_id:
                line.restocked_quantity = line.quantity
                changes[line.order_line.product_id] += line.quantity
        ReturnLine.objects.bulk_update(lines, ["grade", "restocked_quantity"])
        if changes:
            products_adjust_stock(changes=dict(changes), reason=f"return:{rma.number}", actor=user)
        rma.inspected_at, rma.inspected_by, rma.inspection_note = now, user, note
        _move(rma, ReturnStatus.INSPECTED, actor=user, reason=note, at=now)
        return rma


def _fee_percent(value: Any, *, rma: ReturnRequest, policy: ReturnPolicy) -> Decimal:
    """The restocking fee percent the store asks for: 0 on the store's fault (another value is
    ``ApplicationError`` ``restocking_fee_not_allowed``), at most the policy's maximum
    (``restocking_fee_too_high``, with ``max_percent``)."""
    if value is None or value == "":
        return Decimal("0.00")
    percent = wallets.validate_amount(value, field="restocking_fee_percent", allow_zero=True)
    if percent and rma.reason in STORE_FAULT_REASONS:
        raise ApplicationError("No restocking fee on a return that is the store's fault.",
                               code="restocking_fee_not_allowed", fields={"restocking_fee_percent": ["Must be 0."]})
    if percent > policy.restocking_fee_max_percent:
        limit = f"{policy.restocking_fee_max_percent:.2f}"
        raise ApplicationError(f"Your return policy allows a restocking fee of at most {limit} %.",
                               code="restocking_fee_too_high", fields={"restocking_fee_percent": [f"At most {limit}."]},
                               extra={"max_percent": limit})
    return percent


def _plan(order: Order, rma: ReturnRequest, lines: list[ReturnLine], *, fee_percent: Decimal,
          refund_shipping: bool) -> refunds.RefundPlan:
    """The refund plan of a locked, inspected return (``commerce.returns.refunds``): the shares
    earlier refunded returns took of each line, whether this one completes the order, whether
    its shipping fee is still unrefunded, and what the order can still refund."""
    earlier = {row["order_line_id"]: (row["units"], row["paid"]) for row in
               ReturnLine.objects.filter(return_request__order=order, paid_amount__isnull=False)
               .exclude(return_request=rma).values("order_line_id")
               .annotate(units=Sum("quantity"), paid=Sum("paid_amount"))}
    inputs = []
    for line in lines:
        units, paid = earlier.get(line.order_line_id, (0, Decimal("0.00")))
        share = refunds.paid_share(line_total=line.order_line.line_total, line_quantity=line.order_line.quantity,
                                   quantity=line.quantity, earlier_quantity=units, earlier_paid=paid)
        inputs.append(refunds.LineInput(key=line.pk, paid=share, grade=line.grade))
    mine = {line.order_line_id: line.quantity for line in lines}
    completes = all(earlier.get(lid, (0, 0))[0] + mine.get(lid, 0) == qty
                    for lid, qty in order.lines.values_list("pk", "quantity"))
    shipping_open = not ReturnRequest.objects.filter(order=order, shipping_refund__gt=0).exclude(pk=rma.pk).exists()
    return refunds.plan_refund(reason=rma.reason, lines=inputs, fee_percent=fee_percent,
                               refund_shipping=refund_shipping,
                               shipping_total=order.shipping_total if shipping_open else Decimal("0.00"),
                               completes_order=completes, refundable=order.total - order.refunded_total)


def _pay(order: Order, rma: ReturnRequest, amount: Decimal, *, actor) -> str:
    """Refund ``amount`` of a locked order for a return (``refund_locked``: the escrow while it is
    held, else the store's wallet as ``return_refund``; a full refund makes the order
    ``refunded``). Returns the :class:`RefundSource`."""
    escrow = lock_escrow(order)
    source = RefundSource.ESCROW if escrow is not None and escrow.status == EscrowStatus.HELD else RefundSource.STORE_WALLET
    refund_locked(order=order, amount=amount, actor=actor, reason=f"return:{rma.number}",
                  set_status=order.can_transition_to(OrderStatus.REFUNDED), store_ledger_kind=LedgerKind.RETURN_REFUND)
    return source


def return_refund(*, user, return_id: Any, restocking_fee_percent: Any = None, refund_shipping: bool | None = None,
                  note: str = "", now: datetime | None = None) -> ReturnRequest:
    """The store decides the refund of an inspected return, by the rules of
    ``commerce.returns.refunds``: ``restocking_fee_percent`` (changed-mind and other returns, at
    most the policy's ``restocking_fee_max_percent``) and ``refund_shipping`` (the same returns:
    also the original shipping fee, for a whole-order return). The return ends ``refunded``,
    ``partially_refunded`` or ``rejected_after_inspection`` (nothing to refund); the amounts are
    kept on its lines.

    Exactly once: under the locks (order → return → payment, escrow → wallets), so two refunds at
    once give one (the second: ``InvalidTransition``), and a refund racing the escrow's release
    takes the money from wherever it is at that moment. A refund the money cannot cover
    (``insufficient_funds`` in the store's wallet, ``gateway_unavailable``) changes nothing but
    ``refund_error`` (``return.updated`` ``refund_failed``, the handlers notified) and is raised
    after commit; the return stays ``inspected`` for a retry.

    Raises ``NotFound``, ``Forbidden`` ``return_action_not_allowed``,
    ``core.fsm.InvalidTransition``, ``ApplicationError`` ``invalid_amount``,
    ``restocking_fee_not_allowed``, ``restocking_fee_too_high``, and the codes of
    ``commerce.payments.services.refund_locked``."""
    now = now or timezone.now()
    note = _text(note, "note", required=False)
    refusal: ApplicationError | None = None
    with transaction.atomic():
        order, rma = _lock(return_id)
        _require_handler(user, rma, doing="refund returns")
        RETURN_MACHINE.check(rma.status, ReturnStatus.REFUNDED,
                             detail=None if rma.status == ReturnStatus.INSPECTED
                             else f"A return is refunded once it is inspected; this one is {rma.status}.")
        fee_percent = _fee_percent(restocking_fee_percent, rma=rma, policy=return_policy_for(order.vendor_id))
        order.payments.select_for_update().filter(status=PaymentStatus.SUCCEEDED).first()
        lock_escrow(order)
        lines = list(rma.lines.select_related("order_line").order_by("id"))
        plan = _plan(order, rma, lines, fee_percent=fee_percent, refund_shipping=bool(refund_shipping))
        try:
            with transaction.atomic():
                source = _pay(order, rma, plan.total, actor=user) if plan.total > 0 else ""
        except ApplicationError as exc:
            refusal = exc
            rma.refund_error = str(exc.code)[:64]
            rma.save(update_fields=["refund_error", "updated_at"])
            _publish(rma, ReturnUpdated.build(rma=rma, change="refund_failed"))
            _notify(_handler_ids(order), rma, kind=RETURN_UPDATED.name, exclude=user.pk,
                    title=f"Return {rma.number}: the refund could not be paid",
                    body=f"{exc.detail} The return stays inspected; refund it again once this is solved.")
        if refusal is None:
            by_key = {p.key: p for p in plan.lines}
            for line in lines:
                p = by_key[line.pk]
                line.paid_amount, line.restocking_fee, line.refund_amount = p.paid, p.restocking_fee, p.refund
            ReturnLine.objects.bulk_update(lines, ["paid_amount", "restocking_fee", "refund_amount"])
            rma.restocking_fee_percent = fee_percent if rma.reason not in STORE_FAULT_REASONS else Decimal("0.00")
            rma.shipping_refund, rma.refund_amount, rma.refund_source = plan.shipping, plan.total, source
            rma.refund_note, rma.refunded_by, rma.refunded_at, rma.refund_error = note, user, now, ""
            _move(rma, plan.outcome, actor=user, at=now,
                  reason=f"{plan.total:.2f} {order.currency} refunded" + (f". {note}" if note else ""))
            # the buyer no longer has what came back with a refund: its reviews stop counting
            reviews_lines_refunded(order=order, line_ids=fully_refunded_line_ids(order=order))
    if refusal is not None:
        raise refusal
    return rma


# --- escalation ------------------------------------------------------------------------------


def _claimable(order: Order, rma: ReturnRequest) -> Decimal:
    """What an escalated return claims: what was paid for its lines (their shares, estimated
    for lines never refunded) less what it refunded, at most what the order can still refund."""
    paid = Decimal("0.00")
    for line in rma.lines.select_related("order_line"):
        paid += line.paid_amount if line.paid_amount is not None else refunds.half_up(
            line.order_line.line_total * line.quantity / line.order_line.quantity)
    return max(min(paid - rma.refund_amount, order.total - order.refunded_total), Decimal("0.00"))


def return_escalate(*, user, return_id: Any, description: str, now: datetime | None = None) -> ReturnRequest:
    """The buyer escalates a rejected return (``rejected``, ``rejected_after_inspection``) to
    marketplace staff: a dispute about the order (``dispute_open_locked(source="return")``,
    claiming :func:`_claimable`) that staff decide like any other (release, partial or full
    refund). Once per return, within ``RETURN_ESCALATION_DAYS`` (14) of the rejection.

    Raises ``NotFound``, ``Forbidden`` ``return_action_not_allowed`` (not the buyer),
    ``Conflict`` ``not_rejected``, ``already_escalated``, ``escalation_window_closed``,
    ``nothing_to_claim`` (the order has nothing left to refund), ``dispute_already_open``;
    ``ApplicationError`` ``invalid``."""
    now = now or timezone.now()
    description = _text(description, "description", required=True)
    with transaction.atomic():
        order, rma = _lock(return_id)
        _require_buyer(user, rma, doing="escalates a return")
        if rma.status not in ESCALATABLE_STATUSES:
            raise Conflict(f"Only a rejected return can be escalated; this one is {rma.status}.", code="not_rejected",
                           extra={"status": rma.status})
        if rma.dispute_id is not None:
            raise Conflict("This return was escalated already.", code="already_escalated",
                           extra={"dispute_id": str(rma.dispute_id)})
        deadline = escalation_deadline(rma)
        if deadline is None or now >= deadline:
            raise Conflict("The time to escalate this return has passed.", code="escalation_window_closed",
                           extra={"deadline": deadline.isoformat() if deadline else None})
        claimed = _claimable(order, rma)
        if claimed <= 0:
            raise Conflict("Nothing of this order is left to refund.", code="nothing_to_claim")
        dispute = dispute_open_locked(order=order, opened_by=user, reason=DISPUTE_REASONS[rma.reason],
                                      description=f"Return {rma.number} ({rma.status}): {description}",
                                      source="return", source_id=rma.pk, claimed_amount=claimed)
        rma.dispute, rma.escalated_at = dispute, now
        rma.save(update_fields=["dispute", "escalated_at", "updated_at"])
        _publish(rma, ReturnUpdated.build(rma=rma, change="escalated"))
        return rma


# --- the store's policy ------------------------------------------------------------------------


def return_policy_update(*, user, vendor_id: Any, window_days: Any = None, restocking_fee_max_percent: Any = None,
                         resellable_grades: Any = None) -> ReturnPolicy:
    """The store's owner (or a marketplace admin) sets its return policy; fields left None keep
    their value. ``window_days`` from ``RETURN_WINDOW_MIN_DAYS`` (14, the EU minimum) to 365,
    ``restocking_fee_max_percent`` 0–100 (two decimals), ``resellable_grades`` a subset of
    ``as_new``, ``opened``, ``damaged``. Applies to returns requested (the window) and refunded
    (the fee) from now on. Raises ``NotFound`` ``vendor_not_found``, ``Forbidden``
    ``policy_not_allowed``, ``ApplicationError`` ``invalid`` / ``invalid_amount``."""
    vid = parse_uuid(vendor_id)
    vendor = Vendor.objects.filter(pk=vid).first() if vid else None
    if vendor is None:
        raise NotFound("Store not found.", code="vendor_not_found")
    if not can_edit_return_policy(user, vendor):
        raise Forbidden("Only the store's owner sets its return policy.", code="policy_not_allowed")
    minimum = _setting("RETURN_WINDOW_MIN_DAYS", 14)
    if window_days is not None and (isinstance(window_days, bool) or not isinstance(window_days, int)
                                    or not minimum <= window_days <= 365):
        raise ApplicationError(f"window_days is {minimum} to 365.", code="invalid",
                               fields={"window_days": [f"From {minimum} to 365 days."]})
    percent = None
    if restocking_fee_max_percent is not None:
        percent = wallets.validate_amount(restocking_fee_max_percent, field="restocking_fee_max_percent",
                                          allow_zero=True)
        if percent > 100:
            raise ApplicationError("restocking_fee_max_percent is at most 100.", code="invalid_amount",
                                   fields={"restocking_fee_max_percent": ["At most 100."]})
    grades = None
    if resellable_grades is not None:
        allowed = {ReturnGrade.AS_NEW, ReturnGrade.OPENED, ReturnGrade.DAMAGED}
        if not isinstance(resellable_grades, (list, tuple)) or any(g not in allowed for g in resellable_grades):
            raise ApplicationError("Resellable grades are as_new, opened and damaged.", code="invalid",
                                   fields={"resellable_grades": ["A subset of as_new, opened, damaged."]})
        grades = sorted(set(resellable_grades), key=ReturnGrade.values.index)
    with transaction.atomic():
        policy, _ = ReturnPolicy.objects.select_for_update().get_or_create(vendor=vendor)
        if window_days is not None:
            policy.window_days = window_days
        if percent is not None:
            policy.restocking_fee_max_percent = percent
        if grades is not None:
            policy.resellable_grades = grades
        policy.updated_by = user
        policy.save()
        return policy
