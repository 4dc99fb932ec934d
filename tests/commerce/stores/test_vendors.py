"""Vendor applications, admin-only status transitions and vendor visibility."""

import pytest

from commerce.stores.models import Vendor, VendorStaff, VendorStatus
from commerce.stores.permissions import store_ids_of
from core.models import Role
from tests.conftest import client_for
from tests.factories.commerce import ProductFactory, VendorFactory, VendorStaffFactory
from tests.factories.core import UserFactory

pytestmark = pytest.mark.django_db


def test_user_applies_and_gets_a_pending_store_they_own(user_client, user):
    response = user_client.post("/api/v1/vendors/", {"name": "Brake Masters", "description": "Pads"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["slug"] == "brake-masters"
    assert body["owner_id"] == str(user.pk)
    assert VendorStaff.objects.filter(vendor_id=body["id"], user=user, role="owner").exists()
    user.refresh_from_db()
    assert Role.VENDOR not in user.roles  # only at activation


def test_anonymous_cannot_apply(api_client):
    response = api_client.post("/api/v1/vendors/", {"name": "X"}, format="json")
    assert response.status_code == 401
    assert not Vendor.objects.exists()


def test_second_pending_application_is_refused(user_client):
    assert user_client.post("/api/v1/vendors/", {"name": "One"}, format="json").status_code == 201
    response = user_client.post("/api/v1/vendors/", {"name": "Two"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "application_pending"


def test_apply_with_blank_name_is_400(user_client):
    response = user_client.post("/api/v1/vendors/", {"name": ""}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


def test_same_name_gets_a_distinct_slug():
    VendorFactory(name="Parts", slug="parts")
    response = client_for(UserFactory()).post("/api/v1/vendors/", {"name": "Parts"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "parts-2"


def test_admin_activates_pending_vendor_and_owner_gets_vendor_role(admin_client):
    vendor = VendorFactory(status=VendorStatus.PENDING, owner=UserFactory(roles=[Role.BUYER]))
    response = admin_client.post(f"/api/v1/vendors/{vendor.pk}/activate/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    vendor.refresh_from_db()
    vendor.owner.refresh_from_db()
    assert vendor.status == VendorStatus.ACTIVE
    assert vendor.status_changed_at is not None
    assert Role.VENDOR in vendor.owner.roles


def test_non_admin_cannot_activate_even_their_own_store(vendor):
    pending = VendorFactory(status=VendorStatus.PENDING)
    response = client_for(pending.owner).post(f"/api/v1/vendors/{pending.pk}/activate/")
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == VendorStatus.PENDING


def test_admin_suspends_active_vendor_and_can_reactivate(admin_client, vendor):
    assert admin_client.post(f"/api/v1/vendors/{vendor.pk}/suspend/").json()["status"] == "suspended"
    assert admin_client.post(f"/api/v1/vendors/{vendor.pk}/activate/").json()["status"] == "active"


@pytest.mark.parametrize(
    "start,action",
    [("pending", "suspend"), ("active", "activate"), ("suspended", "suspend")],
)
def test_illegal_transition_is_409_invalid_transition(admin_client, start, action):
    vendor = VendorFactory(status=start)
    response = admin_client.post(f"/api/v1/vendors/{vendor.pk}/{action}/")
    assert response.status_code == 409
    body = response.json()
    allowed = {"pending": ["active"], "active": ["suspended"], "suspended": ["active"]}[start]
    assert body == {"code": "invalid_transition", "detail": body["detail"], "from": start,
                    "to": {"suspend": "suspended", "activate": "active"}[action], "allowed": allowed}
    vendor.refresh_from_db()
    assert vendor.status == start


def test_unknown_vendor_transition_is_404(admin_client):
    response = admin_client.post("/api/v1/vendors/00000000-0000-0000-0000-000000000000/activate/")
    assert response.status_code == 404
    assert response.json()["code"] == "vendor_not_found"


def test_public_vendor_list_shows_only_active(api_client, vendor):
    pending = VendorFactory(status=VendorStatus.PENDING)
    suspended = VendorFactory(status=VendorStatus.SUSPENDED)
    ids = {v["id"] for v in api_client.get("/api/v1/vendors/").json()["results"]}
    assert ids == {str(vendor.pk)}
    assert api_client.get(f"/api/v1/vendors/{pending.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/vendors/{suspended.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/vendors/{vendor.pk}/").status_code == 200


def test_admin_sees_all_vendors_and_can_filter_by_status(admin_client, vendor):
    pending = VendorFactory(status=VendorStatus.PENDING)
    ids = {v["id"] for v in admin_client.get("/api/v1/vendors/").json()["results"]}
    assert ids == {str(vendor.pk), str(pending.pk)}
    only = admin_client.get("/api/v1/vendors/?status=pending").json()["results"]
    assert [v["id"] for v in only] == [str(pending.pk)]


def test_owner_sees_own_pending_store():
    pending = VendorFactory(status=VendorStatus.PENDING)
    response = client_for(pending.owner).get(f"/api/v1/vendors/{pending.pk}/")
    assert response.status_code == 200


def test_store_ids_of_lists_memberships():
    staff = UserFactory()
    a, b = VendorFactory(), VendorFactory(status=VendorStatus.SUSPENDED)
    VendorStaffFactory(vendor=a, user=staff)
    VendorStaffFactory(vendor=b, user=staff)
    VendorFactory()  # someone else's
    assert set(store_ids_of(staff)) == {a.pk, b.pk}
    assert store_ids_of(staff, active_only=True) == [a.pk]
    assert store_ids_of(None) == []


def test_suspending_hides_the_vendors_products_from_the_catalogue(admin_client, api_client, vendor):
    product = ProductFactory(vendor=vendor)
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 200
    admin_client.post(f"/api/v1/vendors/{vendor.pk}/suspend/")
    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 404
    assert api_client.get("/api/v1/products/").json()["count"] == 0
