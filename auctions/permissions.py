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

from django.db.models import Q

from auctions.models import Auction, AuctionStatus
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


def is_auction_store_staff(user, auction: Auction) -> bool:
    """True when ``user`` works for the store that lists ``auction`` (any store status): they
    may not bid on it or buy it, they see its order, they may cancel it before the first bid."""
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
