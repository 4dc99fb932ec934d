"""A store's profile: its owners edit it over REST (validated contact, address, website, tax id),
the public page shows only what a marketplace shows, and everyone else is refused."""

from __future__ import annotations

import pytest

from commerce.stores.models import Vendor
from commerce.stores.validation import validate_store_phone, validate_tax_id
from core.exceptions import ApplicationError
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory
from tests.factories.core import AdminFactory
from tests.factories.stores import REFUSED, client_of, store_people

pytestmark = pytest.mark.django_db

PROFILE = {
    "name": "Rapid Parts Berlin",
    "description": "Brakes and filters.",
    "contact_email": " Sales@Rapid.Example ",
    "contact_phone": "030 1234567",
    "address": {"line1": "Friedrichstr. 10", "postal_code": "10117", "city": "Berlin", "country": "de"},
    "website": "https://rapid.example/shop",
    "tax_id": "DE 136 695 976",
}


def url(vendor) -> str:
    return f"/api/v1/vendors/{vendor.pk}/"


def test_the_owner_edits_the_profile_and_values_are_normalised():
    vendor = VendorFactory()
    response = client_for(vendor.owner).patch(url(vendor), PROFILE, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Rapid Parts Berlin" and body["slug"] == vendor.slug  # links stay valid
    assert body["contact_email"] == "sales@rapid.example"
    assert body["contact_phone"] == "+49301234567"  # read in the store's country, stored E.164
    assert body["address"] == {"line1": "Friedrichstr. 10", "line2": "", "postal_code": "10117", "city": "Berlin",
                               "region": "", "country": "DE"}
    assert body["tax_id"] == "DE136695976"
    stored = Vendor.objects.get(pk=vendor.pk)
    assert (stored.city, stored.country.code, str(stored.contact_phone)) == ("Berlin", "DE", "+49301234567")


def test_a_change_is_announced_on_the_store_topic():
    vendor = VendorFactory()
    client_for(vendor.owner).patch(url(vendor), {"description": "New text"}, format="json")
    event = OutboxEvent.objects.filter(topic=f"vendor:{vendor.pk}", type="store.updated").get()
    assert event.data["vendor"]["description"] == "New text" and "tax_id" in event.data["vendor"]


def test_the_public_page_shows_only_what_the_store_made_public():
    vendor = VendorFactory()
    client_for(vendor.owner).patch(url(vendor), PROFILE, format="json")
    public = client_of(None).get(url(vendor)).json()
    assert public["name"] == "Rapid Parts Berlin" and public["website"] == "https://rapid.example/shop"
    assert public["address"] == {"city": "Berlin", "country": "DE"}
    for private in ("owner_id", "tax_id", "contact_email", "contact_phone", "pickup_point", "email_public"):
        assert private not in public
    client_for(vendor.owner).patch(url(vendor), {"email_public": True, "address_public": True}, format="json")
    public = client_of(None).get(url(vendor)).json()
    assert public["contact_email"] == "sales@rapid.example" and "contact_phone" not in public
    assert public["address"]["line1"] == "Friedrichstr. 10"
    listed = next(v for v in client_of(None).get("/api/v1/vendors/").json()["results"] if v["id"] == str(vendor.pk))
    assert listed == public


def test_store_staff_see_the_private_fields():
    vendor = VendorFactory()
    people = store_people(vendor)
    client_for(vendor.owner).patch(url(vendor), PROFILE, format="json")
    body = client_for(people["clerk"]).get(url(vendor)).json()
    assert body["tax_id"] == "DE136695976" and body["owner_id"] == str(vendor.owner_id)
    assert "tax_id" not in client_for(people["buyer"]).get(url(vendor)).json()


@pytest.mark.parametrize("change,field", [
    ({"contact_phone": "12"}, "contact_phone"),
    ({"contact_email": "not-an-address"}, "contact_email"),
    ({"website": "ftp://rapid.example"}, "website"),
    ({"website": "javascript:alert(1)"}, "website"),
    ({"tax_id": "DE136695977"}, "tax_id"),  # wrong check digit
    ({"address": {"country": "XX"}}, "country"),
    ({"name": "   "}, "name"),
])
def test_invalid_values_are_refused_naming_the_field_and_change_nothing(change, field):
    vendor = VendorFactory()
    client_for(vendor.owner).patch(url(vendor), PROFILE, format="json")
    before = client_for(vendor.owner).get(url(vendor)).json()
    response = client_for(vendor.owner).patch(url(vendor), change, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert client_for(vendor.owner).get(url(vendor)).json() == before


def test_moving_the_store_to_another_country_rechecks_its_tax_id_and_phone():
    vendor = VendorFactory()
    client_for(vendor.owner).patch(url(vendor), {"address": {"country": "GB"}, "tax_id": "980780684",
                                                 "contact_phone": "020 7946 0018"}, format="json")
    vendor.refresh_from_db()
    assert vendor.tax_id == "980780684" and str(vendor.contact_phone) == "+442079460018"
    moved = client_for(vendor.owner).patch(url(vendor), {"address": {"country": "DE"}}, format="json")
    assert moved.status_code == 400 and "tax_id" in moved.json()["fields"]
    vendor.refresh_from_db()
    assert vendor.country.code == "GB"


@pytest.mark.parametrize("value,country,expected", [
    ("DE136695976", "", "DE136695976"),
    ("136695976", "DE", "DE136695976"),
    ("EL 094259216", "", "EL094259216"),  # Greece's VAT prefix is EL
    ("094259216", "GR", "EL094259216"),
    ("GB980780684", "", "980780684"),  # GB has its own module (not EU since 2021)
    ("CHE-116.281.710 MWST", "CH", "CHE116281710MWST"),
    ("12-3456789", "US", "12-3456789"),  # no library knows US EINs as VAT: kept as typed
])
def test_tax_ids_are_checked_per_country(value, country, expected):
    assert validate_tax_id(value, country=country) == expected


@pytest.mark.parametrize("value,country", [("DE123456789", ""), ("NL123456789B02", "NL"), ("980780685", "GB"),
                                           ("<script>", "US")])
def test_malformed_tax_ids_are_refused(value, country):
    with pytest.raises(ApplicationError) as refused:
        validate_tax_id(value, country=country)
    assert refused.value.fields == {"tax_id": [refused.value.detail]}


def test_a_phone_number_without_country_code_needs_the_store_country():
    assert validate_store_phone("+1 415 555 2671") == "+14155552671"
    with pytest.raises(ApplicationError):
        validate_store_phone("030 1234567")


def test_a_marketplace_admin_may_edit_a_store_profile():
    vendor = VendorFactory()
    response = client_for(AdminFactory()).patch(url(vendor), {"name": "Renamed by moderation"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Renamed by moderation"


def test_everyone_else_is_refused_and_nothing_changes():
    vendor = VendorFactory(name="Original")
    people = store_people(vendor)
    for who, user in people.items():
        response = client_of(user).patch(url(vendor), {"name": f"Hijacked by {who}"}, format="json")
        assert response.status_code in REFUSED, (who, response.status_code)
        assert response.status_code != 404 or who in ("anonymous", "inactive"), who
    assert Vendor.objects.get(pk=vendor.pk).name == "Original"
    assert client_of(people["clerk"]).patch(url(vendor), {"name": "x"}, format="json").json()["code"] == "forbidden"
