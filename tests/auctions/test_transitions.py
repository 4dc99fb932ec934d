"""The auction machine through ``auctions.services``, table-driven over the map: approving and
cancelling from every status answer exactly the one ``invalid_transition`` body when the map
refuses, and every legal move of the map is made by the service that owns it (approve, start,
close, cancel). Each row runs in a rolled-back savepoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from auctions import services
from auctions.models import AUCTION_MACHINE, Auction, AuctionStatus
from core.fsm import InvalidTransition
from tests.conftest import attempt_rolled_back, client_for, invalid_transition_body
from tests.factories.commerce import VendorFactory
from tests.factories.core import AdminFactory

pytestmark = pytest.mark.django_db

S = AuctionStatus


def _pending(*, starts_in=timedelta(hours=1)):
    vendor = VendorFactory()
    now = timezone.now()
    return services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title="Lamp", start_price="5.00",
                                   starts_at=now + starts_in, ends_at=now + timedelta(hours=3))


def _as(auction, status, **fields):
    Auction.objects.filter(pk=auction.pk).update(status=status, **fields)


@pytest.mark.parametrize("from_status", sorted(AUCTION_MACHINE.states))
def test_approve_and_cancel_from_every_status(from_status):
    auction, admin = _pending(), AdminFactory()

    def approve():
        _as(auction, from_status)
        return services.auction_approve(user=admin, auction_id=auction.pk).status

    def cancel():
        _as(auction, from_status)
        return services.auction_cancel(user=admin, auction_id=auction.pk).status

    outcome = attempt_rolled_back(approve)
    if AUCTION_MACHINE.can(from_status, S.SCHEDULED):
        assert outcome == S.SCHEDULED
    else:
        assert isinstance(outcome, InvalidTransition)
        assert outcome.as_dict() == invalid_transition_body(AUCTION_MACHINE, from_status, S.SCHEDULED,
                                                            f"The auction is {from_status}.")
    outcome = attempt_rolled_back(cancel)
    if AUCTION_MACHINE.can(from_status, S.CANCELLED):
        assert outcome == S.CANCELLED
    else:
        assert outcome.as_dict() == invalid_transition_body(AUCTION_MACHINE, from_status, S.CANCELLED,
                                                            f"An auction cannot go from {from_status} to cancelled.")


def test_every_legal_move_of_the_map_is_made_by_its_service():
    admin, now = AdminFactory(), timezone.now()
    made = set()
    started_now = _pending(starts_in=-timedelta(minutes=1))
    assert services.auction_approve(user=admin, auction_id=started_now.pk).status == S.LIVE
    made.add((S.PENDING_APPROVAL, S.LIVE))
    later = _pending()
    assert services.auction_approve(user=admin, auction_id=later.pk).status == S.SCHEDULED
    made.add((S.PENDING_APPROVAL, S.SCHEDULED))
    assert services.auction_start(auction_id=later.pk, now=later.starts_at + timedelta(seconds=1))
    made.add((S.SCHEDULED, S.LIVE))
    assert services.auction_close(auction_id=later.pk, now=Auction.objects.get(pk=later.pk).ends_at + timedelta(seconds=1))
    assert Auction.objects.get(pk=later.pk).status == S.ENDED
    made.add((S.LIVE, S.ENDED))
    for status in (S.PENDING_APPROVAL, S.SCHEDULED, S.LIVE):
        auction = _pending()
        _as(auction, status)
        assert services.auction_cancel(user=admin, auction_id=auction.pk, now=now).status == S.CANCELLED
        made.add((status, S.CANCELLED))
    legal = {(a, b) for a, targets in AUCTION_MACHINE.transitions.items() for b in targets}
    assert made == legal


def test_an_auction_past_its_end_can_only_be_cancelled_over_rest():
    auction = _pending()
    _as(auction, S.PENDING_APPROVAL, starts_at=timezone.now() - timedelta(hours=2),
        ends_at=timezone.now() - timedelta(minutes=1))
    r = client_for(AdminFactory()).post(f"/api/v1/auctions/{auction.pk}/approve/")
    assert r.status_code == 409
    assert r.json() == {"code": "invalid_transition", "detail": "The auction's end has passed; list it again.",
                        "from": "pending_approval", "to": "live", "allowed": ["cancelled"]}
    assert Auction.objects.get(pk=auction.pk).status == S.PENDING_APPROVAL
