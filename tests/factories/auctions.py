"""Auctions for tests, made through the real services (listing by the store, approval by an
admin), and funded bidders."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from auctions import services
from tests.factories.commerce import VendorFactory
from tests.factories.core import AddressFactory, AdminFactory, UserFactory
from tests.factories.orders import funded_wallet


def live_auction(*, vendor=None, start="10.00", reserve=None, buy_now=None, ends_in=timedelta(hours=1),
                 hard_end_after=timedelta(hours=1), window=120, extension=120, product=None, **extra):
    """A live auction of ``vendor`` (a new store by default), approved by an admin."""
    vendor = vendor or VendorFactory()
    now = timezone.now()
    auction = services.auction_create(
        user=vendor.owner, vendor_id=vendor.pk, title=extra.pop("title", "Vintage carburettor"), start_price=start,
        reserve_price=reserve, buy_now_price=buy_now, ends_at=now + ends_in, hard_end=now + ends_in + hard_end_after,
        soft_close_window_seconds=window, soft_close_extension_seconds=extension,
        product_id=product.pk if product else None, **extra,
    )
    return services.auction_approve(user=AdminFactory(), auction_id=auction.pk)


def bidder(amount="1000.00"):
    """A buyer with a default address and ``amount`` EUR in the wallet."""
    user = UserFactory()
    AddressFactory(user=user, is_default_shipping=True)
    funded_wallet(user, amount)
    return user
