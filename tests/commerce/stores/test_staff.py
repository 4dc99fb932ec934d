"""A store's staff: invitations by e-mail (the link expires, only the invited account may use
it), roles that limit what members may do (owners: staff, profile, payouts; managers:
products, orders, refunds; staff: orders), and removal, which takes the ``vendor:`` topic away
from the member's open sockets at once."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from commerce.stores.models import InvitationStatus, StoreInvitation, VendorStaff, VendorStaffRole
from commerce.stores.services import vendor_staff_add
from core.exceptions import ApplicationError
from core.models import Role
from realtime.models import OutboxEvent
from tests.conftest import client_for, tokens_for
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.orders import paid_order
from tests.factories.stores import REFUSED, client_of, member, store_people
from tests.live import WSClient

pytestmark = pytest.mark.django_db


def invite(vendor, email: str, role: str = "staff", *, by=None, capture) -> str:
    """Invite ``email`` over REST and return the token from the e-mailed link."""
    with capture(execute=True):
        response = client_for(by or vendor.owner).post(f"/api/v1/vendors/{vendor.pk}/invitations/",
                                                       {"email": email, "role": role}, format="json")
    assert response.status_code == 201, response.json()
    message = mail.outbox[-1]
    assert message.to == [email.lower()]
    return re.search(r"#token=([A-Za-z0-9_-]+)", message.body).group(1)


def test_an_invited_person_joins_with_the_role_through_the_emailed_link(django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    invitee = UserFactory(email="new.clerk@example.com")
    token = invite(vendor, "New.Clerk@example.com", "manager", capture=django_capture_on_commit_callbacks)
    assert token not in str(StoreInvitation.objects.get(vendor=vendor).token_hash)  # only its hash is stored
    preview = client_of(None).post("/api/v1/store-invitations/preview/", {"token": token}, format="json").json()
    assert (preview["email"], preview["role"], preview["expired"], preview["has_account"]) == \
        ("new.clerk@example.com", "manager", False, True)
    response = client_for(invitee).post("/api/v1/store-invitations/accept/", {"token": token}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["role"] == "manager" and response.json()["account_holder"] is False
    assert VendorStaff.objects.get(vendor=vendor, user=invitee).role == VendorStaffRole.MANAGER
    invitee.refresh_from_db()
    assert Role.VENDOR in invitee.roles
    event = OutboxEvent.objects.get(topic=f"vendor:{vendor.pk}", type="store.staff_changed")
    assert event.data["change"] == "added" and event.data["member"]["user_id"] == str(invitee.pk)
    again = client_for(invitee).post("/api/v1/store-invitations/accept/", {"token": token}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_an_expired_invitation_link_is_refused_and_adds_nobody(django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    invitee = UserFactory(email="late@example.com")
    token = invite(vendor, invitee.email, capture=django_capture_on_commit_callbacks)
    invitation = StoreInvitation.objects.get(vendor=vendor)
    assert timedelta(hours=71) < invitation.expires_at - timezone.now() <= timedelta(hours=72)
    StoreInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    preview = client_of(None).post("/api/v1/store-invitations/preview/", {"token": token}, format="json").json()
    assert preview["expired"] is True
    response = client_for(invitee).post("/api/v1/store-invitations/accept/", {"token": token}, format="json")
    assert response.status_code == 410 and response.json()["code"] == "invitation_expired"
    assert not VendorStaff.objects.filter(vendor=vendor, user=invitee).exists()
    assert StoreInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING


def test_a_forwarded_link_is_useless_to_another_account(django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    token = invite(vendor, "invited@example.com", capture=django_capture_on_commit_callbacks)
    stranger = UserFactory(email="stranger@example.com")
    response = client_for(stranger).post("/api/v1/store-invitations/accept/", {"token": token}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "invitation_email_mismatch"
    assert client_of(None).post("/api/v1/store-invitations/accept/", {"token": token}, format="json").status_code == 401
    bogus = client_for(stranger).post("/api/v1/store-invitations/accept/", {"token": "x" * 43}, format="json")
    assert bogus.status_code == 404 and bogus.json()["code"] == "invitation_not_found"
    assert VendorStaff.objects.filter(vendor=vendor).count() == 1


def test_inviting_again_replaces_the_old_link_and_revoking_kills_it(django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    invitee = UserFactory(email="twice@example.com")
    first = invite(vendor, invitee.email, capture=django_capture_on_commit_callbacks)
    second = invite(vendor, invitee.email, "manager", capture=django_capture_on_commit_callbacks)
    old = client_for(invitee).post("/api/v1/store-invitations/accept/", {"token": first}, format="json")
    assert old.status_code == 409 and old.json()["code"] == "invalid_transition"
    pending = client_for(vendor.owner).get(f"/api/v1/vendors/{vendor.pk}/invitations/").json()
    assert [(i["email"], i["role"]) for i in pending] == [("twice@example.com", "manager")]
    revoked = client_for(vendor.owner).delete(f"/api/v1/vendors/{vendor.pk}/invitations/{pending[0]['id']}/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client_for(invitee).post("/api/v1/store-invitations/accept/", {"token": second},
                                    format="json").status_code == 409


def test_declining_needs_only_the_link(django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    token = invite(vendor, "no.thanks@example.com", capture=django_capture_on_commit_callbacks)
    assert client_of(None).post("/api/v1/store-invitations/decline/", {"token": token}, format="json").status_code == 204
    assert StoreInvitation.objects.get(vendor=vendor).status == InvitationStatus.DECLINED


# --- what each role may do --------------------------------------------------------------------


def _as(role: str, vendor):
    return vendor.owner if role == "owner" else member(vendor, role)


@pytest.mark.parametrize("role,allowed", [("owner", True), ("manager", False), ("staff", False)])
def test_only_owners_manage_staff(role, allowed, django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    actor = _as(role, vendor)
    clerk = member(vendor, "staff")
    invited = client_for(actor).post(f"/api/v1/vendors/{vendor.pk}/invitations/", {"email": "x@example.com"},
                                     format="json")
    promoted = client_for(actor).patch(f"/api/v1/vendors/{vendor.pk}/staff/{clerk.pk}/", {"role": "manager"},
                                       format="json")
    listed = client_for(actor).get(f"/api/v1/vendors/{vendor.pk}/invitations/")
    removed = client_for(actor).delete(f"/api/v1/vendors/{vendor.pk}/staff/{clerk.pk}/")
    codes = [invited.status_code, promoted.status_code, listed.status_code, removed.status_code]
    assert codes == ([201, 200, 200, 204] if allowed else [403, 403, 403, 403])
    assert VendorStaff.objects.filter(vendor=vendor, user=clerk).exists() is not allowed
    # every member sees who works there
    assert client_for(actor).get(f"/api/v1/vendors/{vendor.pk}/staff/").status_code == 200


@pytest.mark.parametrize("role,allowed", [("owner", True), ("manager", False), ("staff", False)])
def test_only_owners_manage_payouts_and_the_profile(role, allowed):
    vendor = VendorFactory()
    actor = _as(role, vendor)
    bank = client_for(actor).put(f"/api/v1/vendors/{vendor.pk}/payout-account/",
                                 {"holder_name": "Store GmbH", "iban": "DE89 3704 0044 0532 0130 00",
                                  "bic": "COBADEFFXXX"}, format="json")
    profile = client_for(actor).patch(f"/api/v1/vendors/{vendor.pk}/", {"description": "mine"}, format="json")
    pickup = client_for(actor).put(f"/api/v1/vendors/{vendor.pk}/pickup-point/",
                                   {"latitude": 52.52, "longitude": 13.40}, format="json")
    assert [bank.status_code, profile.status_code, pickup.status_code] == \
        ([200, 200, 200] if allowed else [403, 403, 403]), (bank.json(), profile.json(), pickup.json())


@pytest.mark.parametrize("role,allowed", [("owner", True), ("manager", True), ("staff", False)])
def test_owners_and_managers_manage_products_and_refunds(role, allowed):
    vendor = VendorFactory()
    actor = _as(role, vendor)
    product = ProductFactory(vendor=vendor, stock=3)
    changed = client_for(actor).patch(f"/api/v1/products/{product.pk}/", {"stock": 7}, format="json")
    assert changed.status_code == (200 if allowed else 403)
    product.refresh_from_db()
    assert product.stock == (7 if allowed else 3)
    order = paid_order(vendor=vendor)
    refund = client_for(actor).post(f"/api/v1/orders/{order.pk}/refunds/", {"amount": "1.00"}, format="json",
                                  HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert refund.status_code == (201 if allowed else 403), refund.json()


@pytest.mark.parametrize("role", ["owner", "manager", "staff"])
def test_every_member_handles_orders(role):
    vendor = VendorFactory()
    actor = _as(role, vendor)
    order = paid_order(vendor=vendor)
    assert client_for(actor).get("/api/v1/vendor/orders/").json()["results"][0]["id"] == str(order.pk)
    moved = client_for(actor).post(f"/api/v1/orders/{order.pk}/status/", {"status": "processing"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "processing"


def test_a_membership_added_by_the_service_defaults_to_the_staff_role():
    vendor = VendorFactory()
    clerk = UserFactory(roles=[Role.BUYER])
    vendor_staff_add(vendor_id=vendor.pk, user=clerk, actor=vendor.owner)
    assert VendorStaff.objects.get(vendor=vendor, user=clerk).role == VendorStaffRole.STAFF
    with pytest.raises(ApplicationError) as refused:
        vendor_staff_add(vendor_id=vendor.pk, user=UserFactory(), actor=clerk)
    assert refused.value.code == "forbidden"


# --- roles and removal --------------------------------------------------------------------------


def test_the_account_holder_and_the_last_owner_stay_owners():
    vendor = VendorFactory()
    co_owner = member(vendor, "owner")
    demote_holder = client_for(co_owner).patch(f"/api/v1/vendors/{vendor.pk}/staff/{vendor.owner_id}/",
                                               {"role": "staff"}, format="json")
    assert demote_holder.status_code == 409 and demote_holder.json()["code"] == "account_holder"
    remove_holder = client_for(co_owner).delete(f"/api/v1/vendors/{vendor.pk}/staff/{vendor.owner_id}/")
    assert remove_holder.status_code == 409 and remove_holder.json()["code"] == "account_holder"
    assert client_for(co_owner).delete(f"/api/v1/vendors/{vendor.pk}/staff/{co_owner.pk}/").status_code == 204


def test_a_member_may_leave_and_loses_the_vendor_role_with_the_last_store():
    vendor = VendorFactory()
    clerk = member(vendor, "staff")
    assert client_for(clerk).delete(f"/api/v1/vendors/{vendor.pk}/staff/{clerk.pk}/").status_code == 204
    clerk.refresh_from_db()
    assert Role.VENDOR not in clerk.roles
    assert client_for(clerk).get(f"/api/v1/vendors/{vendor.pk}/staff/").status_code == 403


@pytest.mark.live
def test_a_removed_member_loses_the_vendor_topic_at_once_on_an_open_socket(live):
    vendor = VendorFactory()
    clerk = member(vendor, "staff")
    colleague = member(vendor, "manager")
    topic = f"vendor:{vendor.pk}"
    clerk_ws, colleague_ws = WSClient(live.ws_url), WSClient(live.ws_url)
    try:
        clerk_ws.auth(tokens_for(clerk)["access"])
        colleague_ws.auth(tokens_for(colleague)["access"])
        assert clerk_ws.request("subscribe", topic=topic)["status"] == "ok"
        assert colleague_ws.request("subscribe", topic=topic)["status"] == "ok"
        assert client_for(vendor.owner).delete(f"/api/v1/vendors/{vendor.pk}/staff/{clerk.pk}/").status_code == 204
        revoked = clerk_ws.next_event(topic, "subscription.revoked")
        assert revoked["data"]["reason"] == "removed_from_store"
        seen = colleague_ws.next_event(topic, "store.staff_changed")
        assert seen["data"]["change"] == "removed" and seen["data"]["member"]["user_id"] == str(clerk.pk)
        again = clerk_ws.request("subscribe", topic=topic)
        assert again["status"] == "error" and again["error"]["code"] == "forbidden"
    finally:
        clerk_ws.close()
        colleague_ws.close()


# --- wrong actors --------------------------------------------------------------------------------


def test_everyone_outside_the_store_is_refused_on_every_staff_endpoint():
    vendor = VendorFactory()
    people = store_people(vendor)
    clerk = people["clerk"]
    invitation = StoreInvitation.objects.create(vendor=vendor, email="p@example.com", role="staff",
                                                token_hash="0" * 64, expires_at=timezone.now() + timedelta(days=1))
    base = f"/api/v1/vendors/{vendor.pk}"
    calls = [
        ("get", f"{base}/staff/", None),
        ("patch", f"{base}/staff/{clerk.pk}/", {"role": "manager"}),
        ("delete", f"{base}/staff/{people['manager'].pk}/", None),
        ("get", f"{base}/invitations/", None),
        ("post", f"{base}/invitations/", {"email": "someone@example.com"}),
        ("delete", f"{base}/invitations/{invitation.pk}/", None),
        ("get", f"{base}/pickup-point/", None),
        ("put", f"{base}/pickup-point/", {"latitude": 1, "longitude": 1}),
        ("delete", f"{base}/logo/", None),
    ]
    for who in ("buyer", "other_owner", "courier", "inactive", "anonymous"):
        for method, url, body in calls:
            response = getattr(client_of(people[who]), method)(url, body, format="json")
            assert response.status_code in REFUSED, (who, method, url, response.status_code)
    assert VendorStaff.objects.filter(vendor=vendor).count() == 4
    assert StoreInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING
    assert not StoreInvitation.objects.filter(email="someone@example.com").exists()


def test_a_marketplace_admin_may_manage_a_stores_staff():
    vendor = VendorFactory()
    clerk = member(vendor, "staff")
    response = client_for(AdminFactory()).patch(f"/api/v1/vendors/{vendor.pk}/staff/{clerk.pk}/",
                                                 {"role": "manager"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "manager"
