"""Auction services: listing, approval, bidding (proxy bids, increments, reserve, soft close,
wallet holds), buy-it-now, closing, and the periodic jobs.

Every write locks the auction row first (``SELECT … FOR UPDATE``) and re-checks its state under
the lock; then orders, products, carts and wallets follow the project's lock order (wallets in
primary-key order, see ``commerce.wallet.services.lock_wallets``). Events go to ``auction:<id>`` through
the outbox (after commit; ``auctions.events``): ``auction.scheduled``, ``auction.started``,
``auction.bid_placed``, ``auction.extended``, ``auction.reserve_met``, ``auction.closed``,
``auction.cancelled``.

Funds (``AUCTION_HOLD_FUNDS``, default on): the leader's maximum is held in their wallet
(reference ``auction:<id>``); losing the lead releases it; a sale captures the final price from
the hold and releases the rest. Every bidder must have the maximum available when bidding.

Stock: an auction of a catalogue ``product`` takes one unit when it is approved (reason
``auction_listing``) and gives it back when it ends unsold or is cancelled.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from auctions import rules
from auctions.events import (
    AUCTION_TOPIC,
    AuctionBidPlaced,
    AuctionCancelled,
    AuctionClosed,
    AuctionExtended,
    AuctionReserveMet,
    AuctionScheduled,
    AuctionStarted,
)
from auctions.models import (
    AUCTION_MACHINE,
    Auction,
    AuctionParticipant,
    AuctionResult,
    AuctionStatus,
    AuctionWatch,
    Bid,
)
from auctions.permissions import (
    can_approve_auction,
    can_cancel_auction,
    can_view_auction,
    is_auction_store_staff,
    with_store_staff_flag,
)
from auctions.selectors import auction_get_visible, pseudonym_of
from commerce.catalog.models import Product
from commerce.catalog.services import products_adjust_stock
from commerce.payments.services import order_create_for_auction
from commerce.stores.models import VendorStaff
from commerce.stores.permissions import MANAGING_ROLES, is_store_staff, store_ids_of
from commerce.wallet.services import (
    lock_wallets,
    validate_amount,
    wallet_release_hold,
    wallet_set_hold,
    wallets_set_holds,
)
from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import User
from core.permissions import is_active_user
from core.utils import parse_uuid
from notifications.kinds import AUCTION_ENDING_SOON, AUCTION_OUTBID, AUCTION_WON, EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime.outbox import publish, publish_many, reauthorize_topic

logger = logging.getLogger(__name__)

AUCTION_ENDED_FOR_VENDOR = register_kind(
    "auction.ended",
    description="An auction of your store ended (sold with an order, or unsold).",
    default_channels=(IN_APP, EMAIL),
)

CENT = Decimal("0.01")


def holds_enabled() -> bool:
    return bool(getattr(settings, "AUCTION_HOLD_FUNDS", True))


def hold_reference(auction_id: Any) -> str:
    return f"auction:{auction_id}"  # not a topic: the reference of the auction's wallet holds (stored)


def parse_amount(value: Any, *, field: str = "max_amount") -> Decimal:
    """A positive money amount with at most two decimals (string or int; floats refused).
    Raises ``ApplicationError`` ``invalid_amount`` (400) naming ``field``."""
    return validate_amount(value, field=field)


def _lock(auction_id: Any, *, viewer=None) -> Auction:
    """Lock the auction row (``NotFound`` ``auction_not_found``); with ``viewer`` the same query
    also tells whether they work for its store (``auctions.permissions.with_store_staff_flag``)."""
    aid = parse_uuid(auction_id)
    qs = Auction.objects.select_for_update(of=("self",)).select_related("vendor")
    if viewer is not None and is_active_user(viewer):
        qs = with_store_staff_flag(qs, viewer)
    auction = qs.filter(pk=aid).first() if aid else None
    if auction is None:
        raise NotFound("Auction not found.", code="auction_not_found")
    return auction


def _move(auction: Auction, status: str) -> None:
    """Move a locked auction along ``AUCTION_MACHINE`` (``core.fsm.InvalidTransition`` otherwise)."""
    AUCTION_MACHINE.check(auction.status, status)
    auction.status = status


def _save(auction: Auction, *fields: str) -> None:
    auction.version += 1
    auction.save(update_fields=["version", "updated_at", *fields])


def _schedule(which: Literal["start", "close"], auction_id: uuid.UUID, eta: datetime) -> None:
    """After commit, queue the ``start_auction`` or ``close_auction`` ETA task of the auction."""
    def send() -> None:
        from auctions.tasks import close_auction, start_auction  # cycle-breaker: the tasks run this module

        task = start_auction if which == "start" else close_auction
        try:
            task.apply_async(args=[str(auction_id)], eta=eta)
        except Exception:  # noqa: BLE001 - the beat sweep does it anyway
            logger.warning("could not schedule %s for auction %s", task.name, auction_id, exc_info=True)

    transaction.on_commit(send, robust=True)


# --- listing ---------------------------------------------------------------------------------


def auction_create(
    *,
    user,
    title: str,
    start_price: Any,
    ends_at: datetime,
    vendor_id: Any = None,
    product_id: Any = None,
    description: str = "",
    currency: str | None = None,
    reserve_price: Any = None,
    buy_now_price: Any = None,
    starts_at: datetime | None = None,
    hard_end: datetime | None = None,
    soft_close_window_seconds: int = 120,
    soft_close_extension_seconds: int = 120,
    now: datetime | None = None,
) -> Auction:
    """A vendor lists an auction (status ``pending_approval``). ``starts_at`` defaults to now,
    ``hard_end`` to ``ends_at`` + 1 hour. Listing is managing the store's products: its owners
    and managers. Raises ``Forbidden`` ``not_vendor`` (no active store of the user),
    ``role_forbidden`` (the ``staff`` role), ``NotFound`` ``product_not_found``, ``ApplicationError`` ``invalid`` (times,
    prices: reserve ≥ start, buy-it-now > start, end after start and in the future, hard end ≥
    end, soft-close seconds ≥ 1) and ``invalid_amount``."""
    now = now or timezone.now()
    vendors = store_ids_of(user, active_only=True, roles=MANAGING_ROLES)
    vid = parse_uuid(vendor_id) if vendor_id else (vendors[0] if vendors else None)
    if vid is None or vid not in vendors:
        if vid is not None and is_store_staff(user, vid, active_only=True):
            raise Forbidden("Only the store's owners and managers list auctions.", code="role_forbidden")
        raise Forbidden("Only staff of an active store may list auctions.", code="not_vendor")
    product = None
    if product_id:
        pid = parse_uuid(product_id)
        product = Product.objects.alive().filter(pk=pid, vendor_id=vid).first() if pid else None
        if product is None:
            raise NotFound("Product not found.", code="product_not_found")
    start = parse_amount(start_price, field="start_price")
    reserve = parse_amount(reserve_price, field="reserve_price") if reserve_price not in (None, "") else None
    buy_now = parse_amount(buy_now_price, field="buy_now_price") if buy_now_price not in (None, "") else None
    starts_at = starts_at or now
    hard_end = hard_end or ends_at + timedelta(hours=1)
    _check_listing(start=start, reserve=reserve, buy_now=buy_now, starts_at=starts_at, ends_at=ends_at,
                   hard_end=hard_end, now=now, soft_close_seconds={
                       "soft_close_window_seconds": soft_close_window_seconds,
                       "soft_close_extension_seconds": soft_close_extension_seconds})
    return Auction.objects.create(
        vendor_id=vid, product=product, created_by=user, title=title.strip()[:200], description=description,
        currency=currency or (product.currency if product else "EUR"), start_price=start, reserve_price=reserve,
        buy_now_price=buy_now, starts_at=starts_at, ends_at=ends_at, scheduled_end=ends_at, hard_end=hard_end,
        soft_close_window_seconds=soft_close_window_seconds, soft_close_extension_seconds=soft_close_extension_seconds,
    )


def _check_listing(*, start: Decimal, reserve: Decimal | None, buy_now: Decimal | None, starts_at: datetime,
                   ends_at: datetime, hard_end: datetime, now: datetime, soft_close_seconds: dict[str, Any]) -> None:
    """The rules of a new listing (:func:`auction_create`): reserve ≥ start, buy-it-now > start,
    the end after the start and in the future, the hard end not before the end, soft-close
    seconds whole and within 1..86400. Raises ``ApplicationError`` ``invalid`` naming the field."""
    def bad(field: str, msg: str) -> ApplicationError:
        return ApplicationError(msg, code="invalid", fields={field: [msg]})

    if reserve is not None and reserve < start:
        raise bad("reserve_price", "The reserve price cannot be below the start price.")
    if buy_now is not None and buy_now <= start:
        raise bad("buy_now_price", "Buy-it-now must be above the start price.")
    if ends_at <= starts_at or ends_at <= now:
        raise bad("ends_at", "The end must be after the start and in the future.")
    if hard_end < ends_at:
        raise bad("hard_end", "The hard end cannot be before the end.")
    for field, value in soft_close_seconds.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 86400:
            raise bad(field, "Must be a whole number of seconds between 1 and 86400.")


def _start_locked(auction: Auction, now: datetime) -> None:
    _move(auction, AuctionStatus.LIVE)
    _save(auction, "status")
    publish(topic=AUCTION_TOPIC.name(auction.pk), event=AuctionStarted.build(auction=auction, now=now))


def auction_approve(*, user, auction_id: Any, now: datetime | None = None) -> Auction:
    """An admin approves a pending auction: ``scheduled``, or ``live`` when ``starts_at`` has
    passed; the product's unit is taken from stock. Raises ``Forbidden`` ``admin_only`` (not a
    marketplace admin, ``auctions.permissions.can_approve_auction``),
    ``core.fsm.InvalidTransition`` (not pending, or its end has passed: then only ``cancelled``
    is allowed), ``Conflict`` ``insufficient_stock``."""
    if not can_approve_auction(user):
        raise Forbidden("Only an admin may approve auctions.", code="admin_only")
    now = now or timezone.now()
    with transaction.atomic():
        auction = _lock(auction_id)
        target = AuctionStatus.LIVE if auction.starts_at <= now else AuctionStatus.SCHEDULED
        AUCTION_MACHINE.check(auction.status, target, detail=f"The auction is {auction.status}.")
        if auction.ends_at <= now:
            raise AUCTION_MACHINE.refusal(auction.status, target, detail="The auction's end has passed; list it again.",
                                          refused=(AuctionStatus.SCHEDULED, AuctionStatus.LIVE))
        if auction.product_id:
            products_adjust_stock(changes={auction.product_id: -1}, reason="auction_listing", actor=user)
        auction.approved_at = now
        if auction.starts_at <= now:
            auction.save(update_fields=["approved_at"])
            _start_locked(auction, now)
        else:
            _move(auction, AuctionStatus.SCHEDULED)
            _save(auction, "status", "approved_at")
            publish(topic=AUCTION_TOPIC.name(auction.pk), event=AuctionScheduled.build(auction=auction, now=now))
            _schedule("start", auction.pk, auction.starts_at)
        _schedule("close", auction.pk, auction.ends_at)
        return auction


def auction_cancel(*, user, auction_id: Any, now: datetime | None = None) -> Auction:
    """Cancel an auction: its vendor's staff before the first bid, a marketplace admin any time
    before it ended (``auctions.permissions.can_cancel_auction``). Holds are released and the
    product's unit returned. Raises ``NotFound`` ``auction_not_found`` (neither), ``Conflict``
    ``has_bids`` (the store, after the first bid), ``core.fsm.InvalidTransition`` (ended or
    cancelled already)."""
    now = now or timezone.now()
    with transaction.atomic():
        auction = _lock(auction_id)
        if not can_cancel_auction(user, auction, with_bids=bool(auction.bid_count)):
            if can_cancel_auction(user, auction):
                raise Conflict("An auction with bids can only be cancelled by an admin.", code="has_bids")
            raise NotFound("Auction not found.", code="auction_not_found")
        was_listed = auction.status in (AuctionStatus.SCHEDULED, AuctionStatus.LIVE)
        _move(auction, AuctionStatus.CANCELLED)
        auction.closed_at = now
        _save(auction, "status", "closed_at")
        _release_leader_hold(auction)
        if was_listed and auction.product_id:
            products_adjust_stock(changes={auction.product_id: 1}, reason="auction_cancelled", actor=user)
        publish(topic=AUCTION_TOPIC.name(auction.pk), event=AuctionCancelled.build(auction=auction, now=now))
        # A cancelled auction is no longer public: subscribers check their access again.
        reauthorize_topic(topic=AUCTION_TOPIC.name(auction.pk), reason="auction_cancelled")
        return auction


def _release_leader_hold(auction: Auction) -> None:
    if holds_enabled() and auction.leader_id:
        wallet_release_hold(user=auction.leader_id, currency=auction.currency, reference=hold_reference(auction.pk))


# --- bidding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BidResult:
    """An accepted bid: the locked-and-updated ``auction``, the stored ``bid`` and whether the
    bidder ``leading`` now."""

    auction: Auction
    bid: Bid
    leading: bool


def _check_live(auction: Auction, now: datetime) -> None:
    if auction.status == AuctionStatus.SCHEDULED and auction.starts_at <= now:
        _start_locked(auction, now)  # starting is due: do it now rather than refuse
    if auction.status == AuctionStatus.ENDED or (auction.status == AuctionStatus.LIVE and now >= auction.ends_at):
        raise Conflict("The auction has ended.", code="auction_ended", extra={"ends_at": auction.ends_at.isoformat()})
    if auction.status != AuctionStatus.LIVE:
        raise Conflict(f"The auction is not live ({auction.status}).", code="auction_not_live",
                       extra={"status": auction.status})


def auction_place_bid(*, auction_id: Any, bidder, max_amount: Any, now: datetime | None = None) -> BidResult:
    """``bidder`` offers a maximum of ``max_amount`` (proxy bid; the rules: README, "Auctions", and ``auctions.rules``).

    Under the auction's row lock: the auction must be live and before its end (``Conflict``
    ``auction_not_live`` / ``auction_ended`` — a bid after ``ends_at`` is refused even if the
    closer has not run); not the vendor's own (``Forbidden`` ``own_auction``); at least
    ``minimum_bid`` (``ApplicationError`` ``bid_too_low``, 400, body has ``minimum_bid``) — the
    leader raising their own maximum must go above it; the maximum available in the wallet
    (``Conflict`` ``insufficient_funds``). Then the standing, the price, the soft-close end and
    the holds change, a :class:`Bid` row is stored, and events and notifications follow. While
    another bid holds the lock, an offer below the last committed minimum is refused without
    waiting for it (:func:`_lock_for_bid`).
    """
    amount = parse_amount(max_amount)
    with transaction.atomic():
        auction = _lock_for_bid(auction_id, bidder=bidder, amount=amount, now=now)
        now = now or timezone.now()
        is_leader = _check_bid(auction, bidder=bidder, amount=amount, now=now)
        previous_leader = auction.leader_id
        wallets = _lock_bid_wallets(auction, bidder=bidder, amount=amount, is_leader=is_leader)
        standing = rules.Standing(auction.leader_max, auction.second_max)
        was_met = rules.reserve_met(standing, auction.reserve_price)
        new_standing, leads = rules.apply_bid(standing, is_leader=is_leader, max_amount=amount)
        events: list = []  # the wallets' and the auction's events: one outbox INSERT
        if holds_enabled() and leads:
            _move_holds(auction, bidder=bidder, previous_leader=previous_leader, leader_max=new_standing.leader_max,
                        wallets=wallets, events=events)
        participant = _record_participant(auction, bidder=bidder, amount=amount, now=now)
        previous_end = _apply_standing(auction, new_standing, leader=participant if leads else None, now=now)
        bid = Bid.objects.create(auction=auction, bidder=bidder, max_amount=amount, price_after=auction.current_price,
                                 leading_after=leads, version=auction.version, created_at=now)
        _announce_bid(auction, events, now=now, previous_end=previous_end,
                      reserve_now_met=not was_met and rules.reserve_met(new_standing, auction.reserve_price),
                      outbid=previous_leader if leads and previous_leader and previous_leader != bidder.pk else None)
        return BidResult(auction=auction, bid=bid, leading=leads)


def _lock_for_bid(auction_id: Any, *, bidder, amount: Decimal, now: datetime | None) -> Auction:
    """Lock the auction row for a bid (``NotFound`` ``auction_not_found``) without queueing
    behind other bids for an offer the rules refuse anyway.

    ``SKIP LOCKED`` first: a free row is locked by that one query, as :func:`_lock` does. A row
    another bid holds is read without a lock instead (the last committed state), and a
    non-leader's offer below that state's minimum bid is refused at once (``bid_too_low``, from
    :func:`_check_bid`): the price of a live auction only rises, so the locked check would refuse
    it too. Anything else waits for the lock (two queries more than :func:`_lock`) and is judged
    under it. On a hot auction most late offers are too low and used to queue for the lock
    (``bench/results/hot_paths-after-2.md``: 1,680 of 1,771 bids refused, `_lock` 53 % of the
    samples)."""
    aid = parse_uuid(auction_id)
    if aid is None:
        raise NotFound("Auction not found.", code="auction_not_found")
    qs = Auction.objects.select_related("vendor")
    if is_active_user(bidder):
        qs = with_store_staff_flag(qs, bidder)
    auction = qs.select_for_update(of=("self",), skip_locked=True).filter(pk=aid).first()
    if auction is not None:
        return auction
    seen = qs.filter(pk=aid).first()
    if seen is None:
        raise NotFound("Auction not found.", code="auction_not_found")
    at = now or timezone.now()
    if seen.status == AuctionStatus.LIVE and at < seen.ends_at and seen.leader_id != bidder.pk:
        try:
            _check_bid(seen, bidder=bidder, amount=amount, now=at)
        except ApplicationError as exc:
            if exc.code == "bid_too_low":
                raise
    return _lock(aid, viewer=bidder)


def _check_bid(auction: Auction, *, bidder, amount: Decimal, now: datetime) -> bool:
    """Step 1 of :func:`auction_place_bid` (auction locked): the bidder may see it, it is live
    and before its end, it is not their store's, the amount reaches the minimum (the leader must
    go above their own maximum). Returns whether the bidder leads already."""
    if not can_view_auction(bidder, auction):
        raise NotFound("Auction not found.", code="auction_not_found")
    _check_live(auction, now)
    if is_auction_store_staff(bidder, auction):
        raise Forbidden("You cannot bid on your own store's auction.", code="own_auction")
    is_leader = auction.leader_id == bidder.pk
    minimum = rules.minimum_bid(auction.current_price, start_price=auction.start_price)
    if is_leader:
        if amount <= auction.leader_max:
            raise ApplicationError(f"You lead with a higher maximum already; raise above {auction.leader_max:.2f}.",
                                   code="bid_too_low", extra={"minimum_bid": f"{auction.leader_max + CENT:.2f}"})
    elif amount < minimum:
        raise ApplicationError(f"The minimum bid is {minimum:.2f} {auction.currency}.", code="bid_too_low",
                               extra={"minimum_bid": f"{minimum:.2f}"})
    return is_leader


def _lock_bid_wallets(auction: Auction, *, bidder, amount: Decimal, is_leader: bool) -> dict:
    """Step 2 (holds on): lock the bidder's (and the outbid leader's) wallet once, in pk order,
    reading their active holds on this auction in the same query, and check the bidder has
    ``amount`` available; the leader's active hold on this auction is exactly their maximum (an
    invariant of this service). Returns ``{(user_id, currency): wallet}`` (empty when holds are
    off). Raises ``Conflict`` ``insufficient_funds``."""
    if not holds_enabled():
        return {}
    leader = auction.leader_id
    users = [bidder.pk] + ([leader] if leader and leader != bidder.pk else [])
    wallets = lock_wallets(keys=[(u, auction.currency) for u in users], hold_reference=hold_reference(auction.pk))
    mine = wallets[(bidder.pk, auction.currency)]
    if mine.available + (auction.leader_max if is_leader else Decimal("0")) < amount:
        raise Conflict(f"You need {amount:.2f} {auction.currency} available in your wallet to bid that much.",
                       code="insufficient_funds")
    return wallets


def _move_holds(auction: Auction, *, bidder, previous_leader, leader_max: Decimal, wallets: dict,
                events: list) -> None:
    """Step 3 (the bidder leads now): the outbid leader's hold is released and the new leader's
    hold becomes their maximum, set-based (``wallets_set_holds``: one statement per kind of
    write for both wallets, inside the auction's row lock). Their ``wallet.updated`` events are
    appended to ``events``, published with the bid's."""
    amounts = {(bidder.pk, auction.currency): leader_max}
    if previous_leader and previous_leader != bidder.pk:
        amounts[(previous_leader, auction.currency)] = Decimal("0")
    wallets_set_holds(reference=hold_reference(auction.pk), amounts=amounts, wallets=wallets, events=events)


_PARTICIPANT_UPSERT = """
INSERT INTO {table} (auction_id, user_id, number, max_amount, created_at)
VALUES (%s, %s, (SELECT COALESCE(MAX(p.number), 0) + 1 FROM {table} p WHERE p.auction_id = %s), %s, %s)
ON CONFLICT (auction_id, user_id) DO UPDATE SET max_amount = GREATEST({table}.max_amount, EXCLUDED.max_amount)
RETURNING id, number, max_amount, created_at, (xmax = 0) AS inserted
"""


def _record_participant(auction: Auction, *, bidder, amount: Decimal, now: datetime) -> AuctionParticipant:
    """Step 4: the bidder's participant row in one statement, an upsert: on the first bid a new
    pseudonym number (the auction's highest plus one; numbers are given under the auction's row
    lock, so they stay 1, 2, 3…) and a watch; afterwards the maximum raised (``GREATEST``).
    PostgreSQL's ``xmax = 0`` tells an inserted row from an updated one."""
    table = AuctionParticipant._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(_PARTICIPANT_UPSERT.format(table=table), [auction.pk, bidder.pk, auction.pk, amount, now])
        pk, number, max_amount, created_at, inserted = cursor.fetchone()
    participant = AuctionParticipant(id=pk, auction=auction, user=bidder, number=number, max_amount=max_amount,
                                     created_at=created_at)
    participant._state.adding, participant._state.db = False, connection.alias
    if inserted:
        # bidders watch what they bid on (one INSERT, no savepoint: a watch may exist already)
        AuctionWatch.objects.bulk_create([AuctionWatch(auction=auction, user=bidder)], ignore_conflicts=True)
    return participant


def _apply_standing(auction: Auction, standing: rules.Standing, *, leader: AuctionParticipant | None,
                    now: datetime) -> datetime:
    """Step 5: the new standing, leader (when ``leader``), price, bid count and soft-close end,
    saved with a new version. Returns the end before this bid."""
    auction.leader_max, auction.second_max = standing.leader_max, standing.second_max
    if leader is not None:
        auction.leader_id = leader.user_id
        auction.leader_pseudonym = leader.pseudonym  # saves a lookup in the payloads
    auction.current_price = rules.current_price(standing, start_price=auction.start_price, reserve=auction.reserve_price)
    auction.bid_count += 1
    previous_end = auction.ends_at
    auction.ends_at = rules.soft_close_end(
        ends_at=auction.ends_at, hard_end=auction.hard_end, bid_at=now,
        window_s=auction.soft_close_window_seconds, extension_s=auction.soft_close_extension_seconds,
    )
    _save(auction, "leader_max", "second_max", "leader", "current_price", "bid_count", "ends_at")
    return previous_end


def _announce_bid(auction: Auction, events: list, *, now: datetime, previous_end: datetime, reserve_now_met: bool,
                  outbid) -> None:
    """Step 6 (after commit, through the outbox, in one INSERT with ``events``, the wallets'):
    ``auction.bid_placed``; ``auction.extended`` (and a new close task) when soft close moved the
    end; ``auction.reserve_met`` the first time; the ``outbid`` previous leader is notified."""
    topic = AUCTION_TOPIC.name(auction.pk)
    placed = AuctionBidPlaced.build(auction=auction, now=now)
    events.append((topic, placed))
    if auction.ends_at != previous_end:
        events.append((topic, AuctionExtended.build(auction=auction, previous_ends_at=previous_end)))
        _schedule("close", auction.pk, auction.ends_at)
    if reserve_now_met:
        events.append((topic, AuctionReserveMet.build(auction=auction)))
    publish_many(events)
    if outbid:
        _notify_outbid_after_commit(auction, user_id=outbid, minimum_bid=placed.data["minimum_bid"])


def _notify_outbid_after_commit(auction: Auction, *, user_id, minimum_bid: str) -> None:
    """After commit, queue the outbid notice (``auctions.tasks.notify_outbid``): its ten or so
    statements (preferences, counters, inbox row, events, e-mail) ran under the auction's row
    lock before, and the lock is what bounds a hot auction's bids per second. A broker outage
    at that moment loses the notice (logged), never the bid; the ``auction.bid_placed`` event
    still reaches the bidder's sockets."""
    args = {"auction_id": str(auction.pk), "user_id": str(user_id), "title": auction.title,
            "current_price": f"{auction.current_price:.2f}", "currency": auction.currency, "minimum_bid": minimum_bid}

    def send() -> None:
        from auctions.tasks import notify_outbid  # cycle-breaker: the tasks run this module

        try:
            notify_outbid.delay(**args)
        except Exception:  # noqa: BLE001 - the bid is committed; only the notice is lost
            logger.warning("could not queue the outbid notice of auction %s", auction.pk, exc_info=True)

    transaction.on_commit(send, robust=True)


def auction_notify_outbid(*, auction_id: str, user_id: str, title: str, current_price: str, currency: str,
                          minimum_bid: str) -> None:
    """Notify ``user_id`` that they lost the lead on auction ``auction_id`` at ``current_price``
    (kind ``auction.outbid``; ``minimum_bid`` to win it back). Runs in the Celery worker, after
    the bid's commit (:func:`auction_place_bid`)."""
    auction = Auction.objects.filter(pk=parse_uuid(auction_id)).first()
    with transaction.atomic():
        notify(recipients=[user_id], kind=AUCTION_OUTBID.name, title=f"Outbid on {title}",
               body=f"Someone bid more than your maximum. The price is now {current_price} {currency}.",
               data={"auction_id": auction_id, "current_price": current_price, "minimum_bid": minimum_bid,
                     "url": f"/auctions/{auction_id}"}, target=auction)


def auction_buy_now(*, auction_id: Any, buyer, now: datetime | None = None):
    """Buy a live auction at its buy-it-now price before the first bid: the auction ends
    ``sold`` and an order is created for ``buyer`` (paid from the wallet when holds are on).
    Returns the order. Raises ``Conflict`` ``buy_now_unavailable`` (no price, or bids exist),
    ``auction_not_live`` / ``auction_ended``, ``insufficient_funds``; ``Forbidden``
    ``own_auction``."""
    with transaction.atomic():
        auction = _lock(auction_id)
        if not can_view_auction(buyer, auction):
            raise NotFound("Auction not found.", code="auction_not_found")
        now = now or timezone.now()
        _check_live(auction, now)
        if is_auction_store_staff(buyer, auction):
            raise Forbidden("You cannot buy from your own store's auction.", code="own_auction")
        if auction.buy_now_price is None or auction.bid_count:
            raise Conflict("Buy-it-now is not available on this auction.", code="buy_now_unavailable")
        reference = hold_reference(auction.pk)
        if holds_enabled():
            wallet_set_hold(user=buyer.pk, currency=auction.currency, reference=reference, amount=auction.buy_now_price)
        auction.leader_id = buyer.pk
        auction.current_price = auction.buy_now_price
        return _finish_sold(auction, winner_id=buyer.pk, price=auction.buy_now_price, now=now, via="buy_now")


def _finish_sold(auction: Auction, *, winner_id, price: Decimal, now: datetime, via: str):
    winner = User.objects.get(pk=winner_id)
    order = order_create_for_auction(
        buyer=winner, vendor=auction.vendor, title=auction.title, sku=f"AUCTION-{str(auction.pk)[:8].upper()}",
        amount=price, currency=auction.currency, product=auction.product,
        hold_reference=hold_reference(auction.pk) if holds_enabled() else None,
    )
    _move(auction, AuctionStatus.ENDED)
    auction.result, auction.final_price, auction.order, auction.closed_at = AuctionResult.SOLD, price, order, now
    _save(auction, "status", "result", "final_price", "order", "closed_at", "leader", "current_price")
    publish(topic=AUCTION_TOPIC.name(auction.pk), event=AuctionClosed.build(auction=auction, now=now, via=via))
    notify(recipients=[winner_id], kind=AUCTION_WON.name, title=f"You won {auction.title}",
           body=f"You won at {price:.2f} {auction.currency}. Order {order.number} was created.",
           data={"auction_id": str(auction.pk), "order_id": str(order.pk), "url": f"/orders/{order.pk}"}, target=auction)
    _notify_vendor(auction, f"{auction.title} sold for {price:.2f} {auction.currency} (order {order.number}).")
    return order


def _notify_vendor(auction: Auction, body: str) -> None:
    staff = list(VendorStaff.objects.filter(vendor_id=auction.vendor_id).values_list("user_id", flat=True))
    if staff:
        notify(recipients=staff, kind=AUCTION_ENDED_FOR_VENDOR.name, title=f"Auction ended: {auction.title}",
               body=body, data={"auction_id": str(auction.pk), "result": auction.result}, target=auction)


# --- closing and periodic jobs -----------------------------------------------------------------


def auction_close(*, auction_id: Any, now: datetime | None = None) -> bool:
    """Close a live auction whose effective end has passed (idempotent: False when there is
    nothing to do — not live, already ended, or not due). Sold when there is a leader and the
    reserve (if any) is met: an order at the final price, paid from the winner's hold; otherwise
    unsold and the product's unit goes back to stock. All holds are released."""
    with transaction.atomic():
        aid = parse_uuid(auction_id)
        auction = Auction.objects.select_for_update(of=("self",)).select_related("vendor").filter(pk=aid).first() if aid else None
        now = now or timezone.now()
        if auction is None or auction.status != AuctionStatus.LIVE or now < auction.ends_at:
            return False
        met = auction.reserve_price is None or (auction.leader_max or Decimal("0")) >= auction.reserve_price
        if auction.leader_id and met:
            _finish_sold(auction, winner_id=auction.leader_id, price=auction.current_price, now=now, via="bidding")
            return True
        _release_leader_hold(auction)
        _move(auction, AuctionStatus.ENDED)
        auction.result, auction.closed_at = AuctionResult.UNSOLD, now
        _save(auction, "status", "result", "closed_at")
        if auction.product_id:
            products_adjust_stock(changes={auction.product_id: 1}, reason="auction_unsold")
        publish(topic=AUCTION_TOPIC.name(auction.pk), event=AuctionClosed.build(auction=auction, now=now, via="bidding"))
        _notify_vendor(auction, f"{auction.title} ended unsold" + (" (reserve not met)." if auction.leader_id else "."))
        return True


def auctions_close_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Close every live auction past its end (the beat sweep, every second). Returns how many."""
    now = now or timezone.now()
    ids = list(Auction.objects.filter(status=AuctionStatus.LIVE, ends_at__lte=now)
               .order_by("ends_at").values_list("pk", flat=True)[:limit])
    return sum(1 for aid in ids if auction_close(auction_id=aid, now=now))


def auction_start(*, auction_id: Any, now: datetime | None = None) -> bool:
    """Start a scheduled auction whose ``starts_at`` has passed (idempotent)."""
    with transaction.atomic():
        aid = parse_uuid(auction_id)
        auction = Auction.objects.select_for_update(of=("self",)).filter(pk=aid).first() if aid else None
        now = now or timezone.now()
        if auction is None or auction.status != AuctionStatus.SCHEDULED or auction.starts_at > now:
            return False
        _start_locked(auction, now)
        return True


def auctions_start_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(Auction.objects.filter(status=AuctionStatus.SCHEDULED, starts_at__lte=now).values_list("pk", flat=True)[:200])
    return sum(1 for aid in ids if auction_start(auction_id=aid, now=now))


def auctions_notify_ending_soon(*, now: datetime | None = None) -> int:
    """Tell watchers (bidders are watchers) once when a live auction ends within
    ``AUCTION_ENDING_SOON_SECONDS`` (default 300). Returns how many auctions were announced."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=int(getattr(settings, "AUCTION_ENDING_SOON_SECONDS", 300)))
    done = 0
    for aid in Auction.objects.filter(status=AuctionStatus.LIVE, ending_soon_sent=False, ends_at__lte=horizon).values_list("pk", flat=True)[:200]:
        with transaction.atomic():
            auction = Auction.objects.select_for_update().filter(pk=aid, ending_soon_sent=False).first()
            if auction is None:
                continue
            auction.ending_soon_sent = True
            auction.save(update_fields=["ending_soon_sent"])
            watchers = list(AuctionWatch.objects.filter(auction=auction).values_list("user_id", flat=True))
            if watchers:
                notify(recipients=watchers, kind=AUCTION_ENDING_SOON.name, title=f"Ending soon: {auction.title}",
                       body=f"The price is {auction.current_price or auction.start_price:.2f} {auction.currency}.",
                       data={"auction_id": str(auction.pk), "ends_at": auction.ends_at.isoformat()}, target=auction)
            done += 1
    return done


def auction_watch(*, user, auction_id: Any, watch: bool = True) -> bool:
    """Watch (or stop watching) an auction; returns whether the user watches it now. Raises
    ``NotFound`` ``auction_not_found`` for an auction ``user`` may not see
    (``auctions.permissions.can_view_auction``: pending and cancelled ones are the store's)."""
    auction = auction_get_visible(user=user, auction_id=auction_id)
    if watch:
        AuctionWatch.objects.get_or_create(auction_id=auction.pk, user=user)
    else:
        AuctionWatch.objects.filter(auction_id=auction.pk, user=user).delete()
    return watch


__all__ = [
    "BidResult", "auction_approve", "auction_buy_now", "auction_cancel", "auction_close", "auction_create",
    "auction_place_bid", "auctions_close_due", "auctions_notify_ending_soon", "auctions_start_due", "pseudonym_of",
]
