"""Disputes: a buyer's claim about a delivered order, decided by marketplace staff.

State map (one owner, :data:`commerce.disputes.models.DISPUTE_MACHINE`; anything else is
``core.fsm.InvalidTransition``, 409 ``invalid_transition``: resolving or withdrawing a dispute
that already ended, e.g. the second of two staff resolving at once)::

    open -> resolved_release | resolved_partial_refund | resolved_refund     (marketplace staff)
    open -> withdrawn                                                        (the buyer)

**Opening.** :func:`dispute_open` is the buyer's door (REST): only inside the buyer-protection
window (the order is ``delivered``, its escrow still held and ``now < release_after``,
``commerce.payments.escrow``), with a reason code (:class:`~commerce.disputes.models.DisputeReason`) and a
description; one buyer dispute per order. :func:`dispute_open_locked` is the door for other apps
acting for the buyer on a locked order (returns escalating a rejected return, ``source`` e.g.
``"return"``): no window check, and the escrow may already be released — a refund then comes
from the store's wallet, as every refund after release does (``commerce.payments.services``). At most one
dispute per order is open at a time (database constraint).

**While open** the order's escrow is frozen: no release path pays the store
(``commerce.payments.escrow`` re-checks under the order lock, asking this room through
``commerce.payments.hooks``), the buyer cannot confirm receipt.

**Parties** (``commerce.disputes.permissions.dispute_role``). The order's buyer (role
``buyer``), the store's staff (``store``) and marketplace admins (``staff``:
``core.permissions.is_marketplace_admin``) see a dispute and add statements while it is
open (the store's first one is its response, ``store_responded_at``); anyone else gets
``NotFound`` ``dispute_not_found``. Statements by staff show as "Marketplace staff" to the others.

**Resolution** (:func:`dispute_resolve`, staff only, ``Idempotency-Key`` on REST):

* ``release``: the held escrow goes to the store now (nothing moves when it was released before);
* ``partial_refund`` ``amount``: ``amount`` back to the buyer (less than what is refundable),
  then the rest of the escrow to the store;
* ``refund``: everything still refundable back to the buyer; the order becomes ``refunded``.

The buyer may ``withdraw`` an open dispute: the escrow is unfrozen and released at once when the
window has passed meanwhile. Every change is audited on the row (``opened_by``/``created_at``,
``store_responded_at``, ``resolved_by``/``resolved_at``/``resolution_note`` and the amounts,
``withdrawn_at``) and in its statements.

Events (after commit) on the buyer's ``user:<id>`` and the store's ``vendor:<id>`` topics:
``dispute.opened``, ``dispute.statement``, ``dispute.resolved``, ``dispute.withdrawn`` (data:
``commerce.disputes.events``), and ``escrow.updated`` with
reason ``frozen`` / ``unfrozen`` / ``released`` / ``refunded``. Notifications:
``dispute.opened`` (the store's staff and marketplace staff), ``dispute.updated`` (the other
parties: a statement, a withdrawal), ``dispute.resolved`` (buyer and the store's staff).

Lock order: **order → dispute → escrow → payment → wallets** (the order first, as everywhere, so
a dispute and an escrow release of one order never interleave).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import User
from core.permissions import marketplace_admins_q
from core.utils import parse_uuid
from notifications.kinds import EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime.events import Event
from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from commerce.disputes import events
from commerce.disputes.models import (
    DISPUTE_MACHINE,
    Dispute,
    DisputeReason,
    DisputeRole,
    DisputeStatement,
    DisputeStatus,
)
from commerce.disputes.permissions import can_resolve_dispute, can_withdraw_dispute, dispute_role
from commerce.orders.models import Order, OrderStatus
from commerce.orders.services import lock_delivered_order_of_buyer, lock_order
from commerce.payments import escrow as escrows
from commerce.payments.services import refund_locked
from commerce.stores.events import VENDOR_TOPIC
from commerce.stores.models import VendorStaff
from commerce.wallet import services as wallets
from commerce.wallet.models import EscrowReleaseReason, EscrowStatus


MAX_TEXT = 4000

RESOLUTIONS = {
    "release": DisputeStatus.RESOLVED_RELEASE,
    "partial_refund": DisputeStatus.RESOLVED_PARTIAL_REFUND,
    "refund": DisputeStatus.RESOLVED_REFUND,
}

DISPUTE_OPENED = register_kind(
    "dispute.opened",
    description="A buyer opened a dispute about an order of your store (or, for staff, one waits in the queue).",
    default_channels=(IN_APP, EMAIL),
)

DISPUTE_UPDATED = register_kind(
    "dispute.updated",
    description="A dispute you take part in has a new statement or was withdrawn.",
    default_channels=(IN_APP,),
)

DISPUTE_RESOLVED = register_kind(
    "dispute.resolved",
    description="Marketplace staff decided a dispute you take part in (release, partial or full refund).",
    default_channels=(IN_APP, EMAIL),
)


def _text(value: Any, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ApplicationError(f"{field} is required.", code="invalid", fields={field: ["This field is required."]})
    if len(text) > MAX_TEXT:
        raise ApplicationError(f"{field} is longer than {MAX_TEXT} characters.", code="invalid",
                               fields={field: [f"At most {MAX_TEXT} characters."]})
    return text


def _marketplace_staff_ids() -> list[uuid.UUID]:
    return list(User.objects.filter(marketplace_admins_q()).values_list("pk", flat=True)[:200])


def _store_staff_ids(order: Order) -> list[uuid.UUID]:
    return list(VendorStaff.objects.filter(vendor_id=order.vendor_id).values_list("user_id", flat=True))


def _publish(dispute: Dispute, event: Event) -> None:
    """``event`` to the buyer's ``user:`` topic and the store's ``vendor:`` desk."""
    order = dispute.order
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=event)


def _notify(recipients: Iterable[Any], dispute: Dispute, *, kind: str, title: str, body: str, exclude=None) -> None:
    people = [r for r in dict.fromkeys(recipients) if r != exclude]
    if people:
        notify(recipients=people, kind=kind, title=title[:200], body=body,
               data={"dispute_id": str(dispute.pk), "order_id": str(dispute.order_id), "status": dispute.status,
                     "url": f"/disputes/{dispute.pk}"}, target=dispute)


def _lock(dispute_id: Any) -> tuple[Order, Dispute]:
    """Lock the dispute's order, then the dispute (the project's lock order)."""
    did = parse_uuid(dispute_id)
    order_id = Dispute.objects.filter(pk=did).values_list("order_id", flat=True).first() if did else None
    if order_id is None:
        raise NotFound("Dispute not found.", code="dispute_not_found")
    order = lock_order(order_id)
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("order", "order__vendor").get(pk=did)
    dispute.order = order
    return order, dispute


def _require_open(dispute: Dispute) -> None:
    """``Conflict`` ``dispute_not_open`` once it ended (a statement is not a move: the machine
    answers the moves, :func:`_check_move`)."""
    if not dispute.is_open:
        raise Conflict(f"This dispute is {dispute.status}.", code="dispute_not_open", extra={"status": dispute.status})


def _check_move(dispute: Dispute, to_status: str) -> None:
    """``core.fsm.InvalidTransition`` unless ``DISPUTE_MACHINE`` allows the locked dispute's move."""
    DISPUTE_MACHINE.check(dispute.status, to_status, detail=None if dispute.is_open else f"This dispute is {dispute.status}.")


def _refundable(order: Order) -> Decimal:
    return order.total - order.refunded_total


def dispute_open_locked(*, order: Order, opened_by, reason: str, description: str, source: str = "buyer",
                        claimed_amount: Decimal | None = None) -> Dispute:
    """Open a dispute about a *locked* order for its buyer, without the buyer-protection window
    check (the caller's rules apply: :func:`dispute_open` for buyers, returns for a rejected
    return). ``claimed_amount`` defaults to what is still refundable. Freezes a held escrow;
    publishes ``dispute.opened`` and ``escrow.updated`` (``frozen``); notifies the store's staff
    and marketplace staff. Raises ``ApplicationError`` ``invalid`` (reason, description,
    amount), ``Conflict`` ``dispute_already_open``."""
    if reason not in DisputeReason.values:
        raise ApplicationError("Unknown reason.", code="invalid",
                               fields={"reason": [f"One of {', '.join(DisputeReason.values)}."]})
    description = _text(description, "description")
    refundable = _refundable(order)
    if claimed_amount is None:
        claimed_amount = refundable
    elif claimed_amount > refundable:
        raise ApplicationError(f"At most {refundable:.2f} {order.currency} can be claimed.", code="invalid_amount",
                               fields={"claimed_amount": [f"At most {refundable:.2f}."]})
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(order=order, opened_by=opened_by, source=source[:32], reason=reason,
                                             description=description, claimed_amount=claimed_amount,
                                             currency=order.currency)
    except IntegrityError:
        raise Conflict("A dispute about this order is already open.", code="dispute_already_open") from None
    dispute.order = order
    escrow = escrows.lock_escrow(order)
    if escrow is not None and escrow.status == EscrowStatus.HELD:
        escrows.publish_escrow(order=order, escrow=escrow, reason="frozen", dispute_id=dispute.pk)
    _publish(dispute, events.DisputeOpened.build(dispute=dispute))
    _notify([*_store_staff_ids(order), *_marketplace_staff_ids()], dispute, kind=DISPUTE_OPENED.name,
            title=f"Dispute about order {order.number}",
            body=f"{DisputeReason(reason).label}: {description[:300]}")
    return dispute


def dispute_open(*, user, order_id: Any, reason: str, description: str, claimed_amount: Any = None,
                 now: datetime | None = None) -> Dispute:
    """The buyer disputes delivered order ``order_id`` inside its buyer-protection window.

    Raises ``NotFound`` ``order_not_found`` (not visible), ``Forbidden``
    ``dispute_not_allowed`` (not the buyer), ``Conflict`` ``not_delivered`` (delivery not proven
    yet), ``protection_ended`` (the window passed, receipt was confirmed, or the money was
    released or refunded), ``dispute_exists`` (the buyer disputed this order before),
    ``dispute_already_open``, and the ``invalid`` codes of :func:`dispute_open_locked`."""
    now = now or timezone.now()
    amount = wallets.validate_amount(claimed_amount, field="claimed_amount") if claimed_amount is not None else None
    with transaction.atomic():
        order = lock_delivered_order_of_buyer(
            user=user, order_id=order_id, doing="a dispute can be opened",
            forbidden=Forbidden("Only the buyer can open a dispute about an order.", code="dispute_not_allowed"))
        escrow = escrows.lock_escrow(order)
        if (escrow is None or escrow.status != EscrowStatus.HELD or escrow.release_after is None
                or now >= escrow.release_after):
            raise Conflict("The buyer protection of this order has ended.", code="protection_ended",
                           extra={"release_after": escrow.release_after.isoformat() if escrow and escrow.release_after
                                  else None})
        if Dispute.objects.filter(order=order, source="buyer").exclude(status=DisputeStatus.OPEN).exists():
            raise Conflict("You disputed this order before.", code="dispute_exists")
        return dispute_open_locked(order=order, opened_by=user, reason=reason, description=description,
                                   claimed_amount=amount)


def dispute_add_statement(*, user, dispute_id: Any, text: str) -> DisputeStatement:
    """A party adds a statement to an open dispute: the buyer's case, the store's response (the
    first one sets ``store_responded_at``), a staff question. Publishes ``dispute.statement``;
    notifies the other parties. Raises ``NotFound`` ``dispute_not_found``, ``Conflict``
    ``dispute_not_open``, ``ApplicationError`` ``invalid``."""
    text = _text(text, "text")
    with transaction.atomic():
        order, dispute = _lock(dispute_id)
        role = dispute_role(user, order)
        if role is None:
            raise NotFound("Dispute not found.", code="dispute_not_found")
        _require_open(dispute)
        statement = DisputeStatement.objects.create(dispute=dispute, author=user, role=role, text=text)
        statement.refresh_from_db(fields=["created_at"])
        if role == DisputeRole.STORE and dispute.store_responded_at is None:
            dispute.store_responded_at = statement.created_at
        dispute.save(update_fields=["store_responded_at", "updated_at"])
        _publish(dispute, events.DisputeStatement.build(dispute=dispute, statement=statement))
        staff_authors = list(dispute.statements.filter(role=DisputeRole.STAFF).exclude(author=None)
                             .values_list("author_id", flat=True).distinct())
        others = {DisputeRole.BUYER: [order.buyer_id], DisputeRole.STORE: _store_staff_ids(order),
                  DisputeRole.STAFF: staff_authors}
        recipients = [uid for r, ids in others.items() if r != role for uid in ids]
        _notify(recipients, dispute, kind=DISPUTE_UPDATED.name, exclude=user.pk,
                title=f"Dispute about order {order.number}: new statement",
                body=f"{'Marketplace staff' if role == DisputeRole.STAFF else DisputeRole(role).label}: {text[:300]}")
        return statement


def dispute_withdraw(*, user, dispute_id: Any, now: datetime | None = None) -> Dispute:
    """The buyer withdraws their open dispute: the escrow is unfrozen (``escrow.updated``
    ``unfrozen``) and released at once when the window has passed meanwhile (``released``).
    Raises ``NotFound`` ``dispute_not_found``, ``Forbidden`` ``withdraw_not_allowed`` (not the
    buyer, ``commerce.disputes.permissions.can_withdraw_dispute``),
    ``core.fsm.InvalidTransition`` (the dispute already ended)."""
    now = now or timezone.now()
    with transaction.atomic():
        order, dispute = _lock(dispute_id)
        if not can_withdraw_dispute(user, dispute):
            if dispute_role(user, order) is None:
                raise NotFound("Dispute not found.", code="dispute_not_found")
            raise Forbidden("Only the buyer can withdraw a dispute.", code="withdraw_not_allowed")
        _check_move(dispute, DisputeStatus.WITHDRAWN)
        dispute.status = DisputeStatus.WITHDRAWN
        dispute.withdrawn_at = now
        dispute.save(update_fields=["status", "withdrawn_at", "updated_at"])
        escrow = escrows.lock_escrow(order)
        if escrow is not None and escrow.status == EscrowStatus.HELD:
            if escrow.release_after is not None and escrow.release_after <= now and order.status == OrderStatus.DELIVERED:
                escrows.escrow_release_locked(order=order, escrow=escrow, reason=EscrowReleaseReason.PROTECTION_ELAPSED,
                                              now=now)
            else:
                escrows.publish_escrow(order=order, escrow=escrow, reason="unfrozen")
        _publish(dispute, events.DisputeWithdrawn.build(dispute=dispute))
        _notify(_store_staff_ids(order), dispute, kind=DISPUTE_UPDATED.name, exclude=user.pk, title=f"Dispute about order {order.number} withdrawn",
                body="The buyer withdrew the dispute.")
        return dispute


def _refund_for_resolution(order: Order, dispute: Dispute, *, resolution: str, partial: Decimal | None, user) -> Decimal:
    """Step of :func:`dispute_resolve` (order and dispute locked): what goes back to the buyer —
    ``partial`` (less than what is still refundable) or everything still refundable (the order
    becomes ``refunded`` when its map allows) — through ``refund_locked``. Returns the amount."""
    refundable = _refundable(order)
    reason = f"dispute:{dispute.pk}"
    if resolution == "partial_refund":
        if partial >= refundable:
            raise ApplicationError(f"A partial refund is less than the {refundable:.2f} {order.currency} still "
                                   "refundable; use refund for all of it.", code="invalid_amount",
                                   fields={"amount": [f"Less than {refundable:.2f}."]})
        refund_locked(order=order, amount=partial, actor=user, reason=reason, set_status=False)
        return partial
    if resolution == "refund" and refundable > 0:
        refund_locked(order=order, amount=refundable, actor=user, reason=reason,
                      set_status=order.can_transition_to(OrderStatus.REFUNDED))
        return refundable
    return Decimal("0.00")


def dispute_resolve(*, user, dispute_id: Any, resolution: str, amount: Any = None, note: str = "",
                    now: datetime | None = None) -> Dispute:
    """Marketplace staff decide an open dispute (see the module docstring for what each
    ``resolution`` — ``release``, ``partial_refund`` with ``amount``, ``refund`` — moves).

    Under the locks (order → dispute → escrow → payment → wallets), so two staff resolving at
    once give one resolution: the second gets ``core.fsm.InvalidTransition``. Publishes
    ``dispute.resolved`` and ``escrow.updated``; notifies the buyer and the store's staff.
    Raises ``NotFound`` ``dispute_not_found``, ``Forbidden`` ``staff_only``
    (``commerce.disputes.permissions.can_resolve_dispute``), ``ApplicationError`` ``invalid``
    (resolution) / ``invalid_amount``, ``core.fsm.InvalidTransition`` (it already ended) and the refund codes of ``commerce.payments.services.refund_locked``
    (``insufficient_funds`` when a released escrow must come back from the store's wallet)."""
    now = now or timezone.now()
    if resolution not in RESOLUTIONS:
        raise ApplicationError("Unknown resolution.", code="invalid",
                               fields={"resolution": [f"One of {', '.join(RESOLUTIONS)}."]})
    partial = wallets.validate_amount(amount) if resolution == "partial_refund" else None
    note = note.strip()[:MAX_TEXT] if isinstance(note, str) else ""
    with transaction.atomic():
        order, dispute = _lock(dispute_id)
        if not can_resolve_dispute(user, dispute):
            if dispute_role(user, order) is None:
                raise NotFound("Dispute not found.", code="dispute_not_found")
            raise Forbidden("Only marketplace staff resolve disputes.", code="staff_only")
        target = RESOLUTIONS[resolution]
        _check_move(dispute, target)
        refunded = _refund_for_resolution(order, dispute, resolution=resolution, partial=partial, user=user)
        released = Decimal("0.00")
        dispute.status = target
        dispute.resolved_by, dispute.resolved_at = user, now
        dispute.resolution_note, dispute.refund_amount = note, refunded
        dispute.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note", "refund_amount",
                                    "updated_at"])
        escrow = escrows.lock_escrow(order)
        if escrow is not None and escrow.status == EscrowStatus.HELD and resolution != "refund":
            released = escrow.amount
            escrows.escrow_release_locked(order=order, escrow=escrow, reason=EscrowReleaseReason.DISPUTE_RESOLVED,
                                          now=now)
        elif escrow is not None and refunded > 0:
            escrows.publish_escrow(order=order, escrow=escrow, reason="refunded")
        if released:
            dispute.released_amount = released
            dispute.save(update_fields=["released_amount"])
        if note:
            DisputeStatement.objects.create(dispute=dispute, author=user, role=DisputeRole.STAFF, text=note)
        _publish(dispute, events.DisputeResolved.build(dispute=dispute))
        label = DisputeStatus(target).label
        _notify([order.buyer_id, *_store_staff_ids(order)], dispute, kind=DISPUTE_RESOLVED.name,
                title=f"Dispute about order {order.number}: {label.lower()}",
                body=(f"{refunded:.2f} {order.currency} refunded to the buyer" if refunded else "No refund")
                + (f"; {released:.2f} {order.currency} released to the store." if released else ".")
                + (f" {note[:300]}" if note else ""))
        return dispute
