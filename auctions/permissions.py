"""Permission predicates of auctions: who sees an auction, who runs it, who may bid.

Style of the vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. :func:`visible_auctions_q` is the queryset form of :func:`can_view_auction`.

The one visibility rule, used by REST (detail, list, bids, buy-it-now, watch) and the
``auction:<id>`` topic alike: scheduled, live and ended auctions are visible to any active
user; ``pending_approval`` and ``cancelled`` ones only to the store's staff and marketplace
admins (so an admin who approves an auction can list and open it, whatever flag makes them an
admin).
"""

from __future__ import annotations

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value

from auctions.models import Auction, AuctionStatus
from commerce.stores.models import VendorStaff
from commerce.stores.permissions import MANAGING_ROLES, is_store_staff, store_ids_of
from core.permissions import is_active_user, is_marketplace_admin

#: statuses any active user may see; the others (pending approval, cancelled) only the store's
#: staff and marketplace admins
PUBLIC_STATUSES = frozenset({AuctionStatus.SCHEDULED, AuctionStatus.LIVE, AuctionStatus.ENDED})


def can_view_auction(user, auction: Auction) -> bool:
    """Who sees ``auction`` (see the module docstring). At most one query (the store's staff)."""
    if not is_active_user(user):
        return False
    if auction.status in PUBLIC_STATUSES:
        return True
    return is_marketplace_admin(user) or is_store_staff(user, auction.vendor_id)


#: the annotations :func:`with_store_staff_flag` adds and :func:`is_auction_store_staff` reads
#: (the flag, and whom it is about: an auction object may be shown to others later)
STORE_STAFF_FLAG = "viewer_is_store_staff"
STORE_STAFF_VIEWER = "store_staff_viewer_id"


def with_store_staff_flag(qs: QuerySet[Auction], user) -> QuerySet[Auction]:
    """``qs`` annotated with ``viewer_is_store_staff`` (``user`` works for the auction's store),
    so :func:`is_auction_store_staff` needs no query (the bid path: one query less under the
    auction's row lock)."""
    return qs.annotate(**{
        STORE_STAFF_FLAG: Exists(VendorStaff.objects.filter(vendor_id=OuterRef("vendor_id"), user_id=user.pk)),
        STORE_STAFF_VIEWER: Value(str(user.pk), output_field=CharField()),
    })


def is_auction_store_staff(user, auction: Auction) -> bool:
    """True when ``user`` works for the store that lists ``auction`` (any store status): they
    may not bid on it or buy it, they see its order, they may cancel it before the first bid.
    No query on an auction loaded through :func:`with_store_staff_flag` for ``user``; one otherwise."""
    flag = getattr(auction, STORE_STAFF_FLAG, None)
    if flag is not None and is_active_user(user) and getattr(auction, STORE_STAFF_VIEWER, None) == str(user.pk):
        return flag
    return is_store_staff(user, auction.vendor_id)


def can_approve_auction(user, auction: Auction | None = None) -> bool:
    """Who approves pending auctions: marketplace admins."""
    return is_marketplace_admin(user)


def can_cancel_auction(user, auction: Auction, *, with_bids: bool = False) -> bool:
    """Who cancels ``auction``: marketplace admins any time before it ended; its store's owners
    and managers (who list auctions) only before the first bid (``with_bids`` asks about an
    auction that has bids)."""
    if is_marketplace_admin(user):
        return True
    return not with_bids and is_store_staff(user, auction.vendor_id, roles=MANAGING_ROLES)


def can_see_auction_order(user, auction: Auction) -> bool:
    """Who sees the id of the order an auction ended with: the winner and the store's staff."""
    if not is_active_user(user) or not auction.order_id:
        return False
    return auction.leader_id == user.pk or is_auction_store_staff(user, auction)


def visible_auctions_q(user) -> Q:
    """The queryset form of :func:`can_view_auction` for ``Auction`` rows."""
    if is_marketplace_admin(user):
        return Q()
    if not is_active_user(user):
        return Q(pk__in=[])
    return Q(status__in=PUBLIC_STATUSES) | Q(vendor_id__in=store_ids_of(user))
