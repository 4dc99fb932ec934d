"""Escrow and buyer protection: when the marketplace pays a store for an order.

A succeeded payment is held in :class:`~commerce.wallet.models.Escrow` (``commerce.payments.services``). Money
moves to the store only on proof and after the buyer had time to object:

1. **Proven delivery** starts the **buyer-protection window**: the order became ``delivered``
   through the delivery flow (the buyer's PIN or QR, ``delivery.services``), and
   :func:`escrow_start_protection` sets ``release_after = delivered_at + BUYER_PROTECTION_DAYS``
   (default 3, the multi-seller store spec's window).
2. The escrow is **released** to the vendor owner's wallet (``payout``, less
   ``MARKETPLACE_COMMISSION_RATE`` as ``commission``) when the window has passed
   (:func:`escrows_release_due`, Celery beat every minute, plus an ETA task for releases due
   before the next sweep), or earlier when the buyer confirms receipt
   (:func:`escrow_confirm_receipt`), or when staff resolve a dispute in the store's favour
   (``commerce.disputes.services``).
3. It is **never released while a dispute of the order is open**: the open dispute freezes it;
   every release path re-checks that under the locks. The disputes room sits above this one, so
   it answers through hooks (``commerce.payments.hooks``: ``open_disputes``,
   ``buyer_has_disputed``).

Every release is idempotent: it runs under the locks **order → escrow → wallets** (the
project's lock order) and re-checks its preconditions there, so the sweep, the ETA task, a
receipt confirmation and a dispute resolution racing each other move the money once.

Events (after commit, ``realtime.outbox.publish``) on the buyer's ``user:<buyer_id>`` and the
store's ``vendor:<vendor_id>`` topics: ``escrow.updated`` with :func:`escrow_data` plus
``reason`` (``held`` when the payment is taken, ``protection_started``, ``released``, ``frozen``,
``unfrozen``, ``refunded``).
Notifications: ``escrow.protection_started`` (buyer), ``escrow.released`` (store owner).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.utils import parse_uuid
from notifications.kinds import EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from django.db.models import OuterRef, QuerySet, Subquery

from commerce.common.money import CENT
from commerce.orders.models import Order, OrderStatus
from commerce.orders.permissions import is_order_buyer
from commerce.orders.services import lock_delivered_order_of_buyer, lock_order
from commerce.payments.events import EscrowUpdated
from commerce.payments.hooks import buyer_has_disputed, open_disputes
from commerce.payments.serializers import EscrowOutputSerializer
from commerce.stores.events import VENDOR_TOPIC
from commerce.wallet import services as wallets
from commerce.wallet.models import Escrow, EscrowReleaseReason, EscrowStatus, LedgerKind

logger = logging.getLogger(__name__)

PROTECTION_STARTED = register_kind(
    "escrow.protection_started",
    description="An order of yours was delivered: report a problem within the buyer-protection window, or confirm "
    "receipt.",
    default_channels=(IN_APP, EMAIL),
)
ESCROW_RELEASED = register_kind(
    "escrow.released",
    description="The buyer protection of an order ended and its money was paid into your store's wallet.",
    default_channels=(IN_APP,),
)


def protection_window() -> timedelta:
    """``BUYER_PROTECTION_DAYS`` (default 3; fractions allowed) as a timedelta."""
    return timedelta(days=float(getattr(settings, "BUYER_PROTECTION_DAYS", 3)))


def commission_for(amount: Decimal) -> Decimal:
    """The marketplace's share of ``amount``: ``MARKETPLACE_COMMISSION_RATE`` × amount, rounded
    half-up to the cent."""
    rate = Decimal(str(getattr(settings, "MARKETPLACE_COMMISSION_RATE", "0.10")))
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def open_dispute_id(*, order_id: Any) -> uuid.UUID | None:
    """The id of the order's open dispute, or None (no lock; callers holding the order lock get
    a stable answer because disputes open and close under it)."""
    return open_disputes().filter(order_id=order_id).values_list("pk", flat=True).first()


def escrow_data(escrow: Escrow, *, order: Order | None = None, dispute_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The escrow payload (REST ``order.escrow`` and ``escrow.updated`` data), rendered by
    :class:`commerce.payments.serializers.EscrowOutputSerializer`::

        {"order_id", "order_number", "status": "held"|"released"|"refunded", "amount", "currency",
         "commission", "release_after", "released_at", "release_reason", "frozen", "dispute_id"}

    ``amount`` is what is (or was, once released) held, money as ``"12.50"`` strings;
    ``release_after`` is null until delivery is proven; ``frozen`` is true while a dispute is
    open (``dispute_id``)."""
    return EscrowOutputSerializer(escrow, context={"order": order, "dispute_id": dispute_id}).data


def publish_escrow(*, order: Order, escrow: Escrow, reason: str, dispute_id: uuid.UUID | None = None) -> None:
    """``escrow.updated`` (:func:`escrow_data` + ``reason``) to the buyer's ``user:`` and the
    store's ``vendor:`` topics, after commit."""
    event = EscrowUpdated.build(escrow_data=escrow_data(escrow, order=order, dispute_id=dispute_id), reason=reason)
    publish(topic=USER_TOPIC.name(order.buyer_id), event=event)
    publish(topic=VENDOR_TOPIC.name(order.vendor_id), event=event)


def lock_escrow(order: Order) -> Escrow | None:
    """``SELECT … FOR UPDATE`` the escrow of a locked order (None when it has none)."""
    return Escrow.objects.select_for_update().filter(order=order).first()


def _eta_horizon() -> timedelta:
    """Releases due within this are also given an ETA task (below the Redis broker's one-hour
    visibility timeout, after which a waiting ETA task would be delivered again)."""
    return timedelta(seconds=float(getattr(settings, "ESCROW_ETA_HORIZON_SECONDS", 3000)))


def _schedule_release(order_id: uuid.UUID, eta: datetime) -> None:
    def send() -> None:
        from commerce.payments.tasks import release_escrow  # cycle-breaker: the task runs escrow_release_due of this module

        try:
            release_escrow.apply_async(args=[str(order_id)], eta=eta)
        except Exception:  # noqa: BLE001 - the beat sweep releases it anyway
            logger.warning("could not schedule the escrow release of order %s", order_id, exc_info=True)

    transaction.on_commit(send, robust=True)


_UNSET = object()


def with_escrow(qs: QuerySet[Order]) -> QuerySet[Order]:
    """``qs`` (orders) with the escrow joined and ``open_dispute_pk`` (the open dispute's id or
    None) annotated: what :func:`order_protection_data` reads, in the same query. Provides the
    orders room's ``order_queryset`` hook."""
    open_dispute = open_disputes().filter(order=OuterRef("pk")).values("pk")[:1]
    return qs.select_related("escrow").annotate(open_dispute_pk=Subquery(open_dispute))


def order_protection_data(*, user, order: Order, now: datetime | None = None) -> dict[str, Any]:
    """What an order's REST payload says about its buyer protection, for ``user``::

        {"escrow": escrow_data | null, "allowed_actions": ["confirm_receipt", "open_dispute"]}

    ``allowed_actions`` lists what the buyer may do now (empty for others): confirm receipt while
    the escrow is held and no dispute is open; open a dispute inside the window when the order
    was never disputed by them. Uses ``order.escrow`` and the ``open_dispute_pk`` annotation when
    the queryset provides them (:func:`with_escrow`, through ``commerce.orders.selectors.with_protection``),
    else queries."""
    now = now or timezone.now()
    try:
        escrow = order.escrow
    except Escrow.DoesNotExist:
        escrow = None
    dispute_id = getattr(order, "open_dispute_pk", _UNSET)
    if dispute_id is _UNSET:
        dispute_id = open_dispute_id(order_id=order.pk) if escrow is not None else None
    actions: list[str] = []
    if (escrow is not None and is_order_buyer(user, order) and order.status == OrderStatus.DELIVERED
            and escrow.status == EscrowStatus.HELD and dispute_id is None):
        actions.append("confirm_receipt")
        if (escrow.release_after is not None and now < escrow.release_after
                and not buyer_has_disputed(order=order)):
            actions.append("open_dispute")
    return {"escrow": escrow_data(escrow, order=order, dispute_id=dispute_id) if escrow is not None else None,
            "allowed_actions": actions}


# --- writes --------------------------------------------------------------------------------


def escrow_start_protection(*, order: Order, now: datetime | None = None) -> Escrow | None:
    """Start the buyer-protection window of a *locked* order that just became ``delivered``:
    ``release_after`` = ``order.delivered_at`` (or ``now``) + :func:`protection_window`. Publishes
    ``escrow.updated`` (``protection_started``), notifies the buyer, and schedules the release
    when it is due soon. Idempotent; returns the escrow (None when the order has none)."""
    escrow = lock_escrow(order)
    if escrow is None or escrow.status != EscrowStatus.HELD or escrow.release_after is not None:
        return escrow
    start = order.delivered_at or now or timezone.now()
    escrow.release_after = start + protection_window()
    escrow.save(update_fields=["release_after"])
    publish_escrow(order=order, escrow=escrow, reason="protection_started")
    notify(
        recipients=[order.buyer_id],
        kind=PROTECTION_STARTED.name,
        title=f"Order {order.number} delivered",
        body=f"Something wrong? Report it before {escrow.release_after:%Y-%m-%d %H:%M} UTC; until then the store "
        "is not paid. If all is well, confirm receipt.",
        data={"order_id": str(order.id), "release_after": escrow.release_after.isoformat(), "url": f"/orders/{order.id}"},
        target=order,
    )
    if escrow.release_after - start <= _eta_horizon():
        _schedule_release(order.id, escrow.release_after)
    return escrow


def escrow_release_locked(*, order: Order, escrow: Escrow, reason: str, now: datetime | None = None) -> Escrow:
    """Release a *locked*, ``held`` escrow of a *locked* order to the vendor owner's wallet:
    ``payout`` of the held amount and ``commission`` (:func:`commission_for`) of it. The caller
    has checked that releasing is allowed (no open dispute, window passed or confirmed). Publishes
    ``escrow.updated`` (``released``) and notifies the owner. Raises ``Conflict``
    ``escrow_not_held`` when it is not held, ``wallet_limit_exceeded`` from the wallet."""
    if escrow.status != EscrowStatus.HELD:
        raise Conflict("The money of this order is no longer held.", code="escrow_not_held",
                       extra={"escrow_status": escrow.status})
    owner = order.vendor.owner_id
    if escrow.amount > 0:
        commission = commission_for(escrow.amount)
        wallets.wallet_credit(user=owner, amount=escrow.amount, currency=escrow.currency, kind=LedgerKind.PAYOUT,
                              reference=f"order:{order.id}", memo=f"Order {order.number}")
        if commission > 0:
            wallets.wallet_debit(user=owner, amount=commission, currency=escrow.currency, kind=LedgerKind.COMMISSION,
                                 reference=f"order:{order.id}", memo=f"Commission on order {order.number}")
        escrow.commission = commission
    escrow.status = EscrowStatus.RELEASED
    escrow.released_at = now or timezone.now()
    escrow.release_reason = reason
    escrow.save(update_fields=["status", "commission", "released_at", "release_reason"])
    publish_escrow(order=order, escrow=escrow, reason="released")
    if escrow.amount > 0:
        notify(
            recipients=[owner],
            kind=ESCROW_RELEASED.name,
            title=f"Payout for order {order.number}",
            body=f"{escrow.amount - escrow.commission:.2f} {escrow.currency} (after {escrow.commission:.2f} commission) "
            f"is now in your wallet.",
            data={"order_id": str(order.id), "amount": f"{escrow.amount:.2f}", "commission": f"{escrow.commission:.2f}",
                  "reason": reason},
            target=order,
        )
    return escrow


def escrow_release_due(*, order_id: Any, now: datetime | None = None) -> bool:
    """Release order ``order_id``'s escrow if, under the locks (order → escrow → wallets), it is
    held, the order is ``delivered``, its window has passed (``release_after <= now``) and no
    dispute is open. Returns True when this call released it (the ETA task and the sweep call
    it; running it twice or concurrently pays once)."""
    now = now or timezone.now()
    oid = parse_uuid(order_id)
    if oid is None:
        return False
    with transaction.atomic():
        try:
            order = lock_order(oid)
        except NotFound:
            return False
        escrow = lock_escrow(order)
        if (escrow is None or escrow.status != EscrowStatus.HELD or escrow.release_after is None
                or escrow.release_after > now or order.status != OrderStatus.DELIVERED):
            return False
        if open_dispute_id(order_id=order.pk) is not None:
            return False
        escrow_release_locked(order=order, escrow=escrow, reason=EscrowReleaseReason.PROTECTION_ELAPSED, now=now)
        return True


def escrows_release_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Beat sweep (every minute): release every held escrow whose window has passed and that no
    open dispute freezes, each in its own transaction (one that fails, e.g. a store wallet at its
    limit, is logged and retried next time); give the ones due before the next sweep an ETA task.
    Returns ``{"released", "failed", "scheduled"}``. Two queries to select, then
    :func:`escrow_release_due` per escrow."""
    now = now or timezone.now()
    due = list(
        Escrow.objects.filter(status=EscrowStatus.HELD, release_after__lte=now, order__status=OrderStatus.DELIVERED)
        .exclude(order_id__in=open_disputes().values("order_id"))
        .order_by("release_after").values_list("order_id", flat=True)[:limit]
    )
    released = failed = 0
    for oid in due:
        try:
            released += int(escrow_release_due(order_id=oid, now=now))
        except (ApplicationError, DatabaseError):
            failed += 1
            logger.warning("escrow release of order %s failed; retried at the next sweep", oid, exc_info=True)
    interval = timedelta(seconds=float(getattr(settings, "ESCROW_SWEEP_INTERVAL_SECONDS", 60)))
    soon = list(Escrow.objects.filter(status=EscrowStatus.HELD, release_after__gt=now,
                                      release_after__lte=now + interval).values_list("order_id", "release_after"))
    for oid, eta in soon:
        _schedule_release(oid, eta)
    return {"released": released, "failed": failed, "scheduled": len(soon)}


def escrow_confirm_receipt(*, user, order_id: Any, now: datetime | None = None) -> Order:
    """The buyer confirms they received order ``order_id`` and all is well: its escrow is
    released to the store now, ending the buyer protection (no dispute can be opened after).

    Raises ``NotFound`` ``order_not_found`` (not visible), ``Forbidden``
    ``receipt_not_allowed`` (the store or staff: only the buyer confirms), ``Conflict``
    ``not_delivered`` (delivery not proven yet), ``dispute_open`` (decided by staff instead),
    ``escrow_not_held`` (already released or refunded)."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_delivered_order_of_buyer(
            user=user, order_id=order_id, doing="receipt can be confirmed",
            forbidden=Forbidden("Only the buyer confirms receipt.", code="receipt_not_allowed"))
        escrow = lock_escrow(order)
        if escrow is None or escrow.status != EscrowStatus.HELD:
            raise Conflict("The money of this order is no longer held.", code="escrow_not_held",
                           extra={"escrow_status": escrow.status if escrow else None})
        dispute_id = open_dispute_id(order_id=order.pk)
        if dispute_id is not None:
            raise Conflict("A dispute about this order is open; marketplace staff will decide it.",
                           code="dispute_open", extra={"dispute_id": str(dispute_id)})
        escrow_release_locked(order=order, escrow=escrow, reason=EscrowReleaseReason.RECEIPT_CONFIRMED, now=now)
        return order


__all__ = [
    "commission_for", "escrow_confirm_receipt", "escrow_data", "escrow_release_due",
    "escrow_release_locked", "escrow_start_protection", "escrows_release_due", "lock_escrow", "open_dispute_id",
    "order_protection_data", "protection_window", "publish_escrow", "with_escrow",
]
