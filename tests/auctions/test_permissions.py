"""Who sees and runs auctions, over REST (``auctions.permissions``).

Regression: a user with the ``admin`` role but without Django's ``is_staff`` could approve a
pending auction and then got 404 listing or opening it (approval asked "staff or admin role",
visibility asked "``is_staff``"). Every kind of marketplace admin now finds a pending auction in
the list, opens it, approves it, cancels it and still opens and lists it once cancelled.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from auctions import services
from core.exceptions import NotFound
from core.models import Role
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_KINDS = {
    "admin role only": {"roles": [Role.ADMIN]},
    "Django staff only": {"is_staff": True},
    "superuser only": {"is_superuser": True},
}


def _pending_auction():
    vendor = VendorFactory()
    return services.auction_create(user=vendor.owner, vendor_id=vendor.pk, title="Brass horn", start_price="10.00",
                                   starts_at=timezone.now() + timedelta(hours=1),
                                   ends_at=timezone.now() + timedelta(hours=3))


def _listed_ids(client, status: str) -> list[str]:
    r = client.get(f"/api/v1/auctions/?status={status}")
    assert r.status_code == 200, r.content
    return [a["id"] for a in r.json()["results"]]


@pytest.mark.parametrize("kind", ADMIN_KINDS)
def test_every_kind_of_admin_lists_opens_approves_and_cancels_a_pending_auction(kind):
    auction = _pending_auction()
    admin = client_for(UserFactory(**ADMIN_KINDS[kind]))
    aid = str(auction.pk)
    assert _listed_ids(admin, "pending_approval") == [aid]
    assert admin.get(f"/api/v1/auctions/{aid}/").status_code == 200
    r = admin.post(f"/api/v1/auctions/{aid}/approve/")
    assert (r.status_code, r.json()["status"]) == (200, "scheduled"), r.content
    assert admin.get(f"/api/v1/auctions/{aid}/").status_code == 200
    assert _listed_ids(admin, "scheduled") == [aid]
    r = admin.post(f"/api/v1/auctions/{aid}/cancel/")
    assert (r.status_code, r.json()["status"]) == (200, "cancelled"), r.content
    assert admin.get(f"/api/v1/auctions/{aid}/").status_code == 200
    assert _listed_ids(admin, "cancelled") == [aid]


def test_a_buyer_and_a_deactivated_admin_neither_see_nor_approve_a_pending_auction():
    auction = _pending_auction()
    aid = str(auction.pk)
    buyer = client_for(UserFactory())
    assert _listed_ids(buyer, "pending_approval") == []
    assert buyer.get(f"/api/v1/auctions/{aid}/").json()["code"] == "auction_not_found"
    assert buyer.post(f"/api/v1/auctions/{aid}/approve/").json()["code"] == "admin_only"
    banned = UserFactory(roles=[Role.ADMIN], is_staff=True, is_superuser=True)
    assert services.auction_approve(user=UserFactory(roles=[Role.ADMIN]), auction_id=auction.pk).status == "scheduled"
    banned.is_active = False
    with pytest.raises(NotFound) as refused:
        services.auction_cancel(user=banned, auction_id=auction.pk)
    assert refused.value.code == "auction_not_found"
