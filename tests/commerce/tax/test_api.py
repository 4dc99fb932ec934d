"""The tax room over REST: the rates table for anyone, a store's tax settings for its owner
(and marketplace admins), every other actor refused."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from commerce.stores.models import VendorStaffRole
from commerce.tax.models import StoreTaxSettings
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory, VendorStaffFactory
from tests.factories.core import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_anyone_reads_the_rates_of_a_country_in_force_on_a_day():
    body = APIClient().get("/api/v1/tax-rates/", {"country": "de", "on": "2026-01-01"}).json()
    rates = {(r["country"], r["tax_class"]): r["rate"] for r in body["results"]}
    assert rates == {("DE", "standard"): "19.00", ("DE", "reduced"): "7.00"}
    r = APIClient().get("/api/v1/tax-rates/", {"on": "yesterday"})
    assert r.status_code == 400 and r.json()["code"] == "invalid"


def test_the_owner_switches_prices_to_tax_exclusive():
    vendor = VendorFactory()
    url = f"/api/v1/vendors/{vendor.pk}/tax-settings/"
    owner = client_for(vendor.owner)
    assert owner.get(url).json()["prices_include_tax"] is True
    r = owner.put(url, {"prices_include_tax": False}, format="json")
    assert r.status_code == 200 and r.json()["prices_include_tax"] is False
    assert StoreTaxSettings.objects.get(vendor=vendor).prices_include_tax is False
    r = client_for(AdminFactory()).put(url, {"prices_include_tax": True}, format="json")
    assert r.status_code == 200 and StoreTaxSettings.objects.get(vendor=vendor).prices_include_tax is True


def test_wrong_actors_neither_read_nor_change_a_stores_tax_settings():
    vendor = VendorFactory()
    url = f"/api/v1/vendors/{vendor.pk}/tax-settings/"
    clerk = VendorStaffFactory(vendor=vendor, role=VendorStaffRole.STAFF).user
    for client, status, code in ((APIClient(), 401, "not_authenticated"),
                                 (client_for(UserFactory()), 404, "vendor_not_found"),
                                 (client_for(VendorFactory().owner), 404, "vendor_not_found"),
                                 (client_for(clerk), 403, "store_settings_not_allowed")):
        for r in (client.get(url), client.put(url, {"prices_include_tax": False}, format="json")):
            assert (r.status_code, r.json()["code"]) == (status, code)
    assert not StoreTaxSettings.objects.exists()


def test_a_bad_body_is_refused():
    vendor = VendorFactory()
    r = client_for(vendor.owner).put(f"/api/v1/vendors/{vendor.pk}/tax-settings/", {}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid"
