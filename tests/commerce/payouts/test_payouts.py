"""Payouts: a store's owners set bank details (IBAN and BIC checked), marketplace staff verify
them, owners withdraw available earnings above the store's minimum, staff approve and mark paid
or reject; the wallet ledger shows a hold while pending, then a ``withdrawal`` debit (or a
release). Everyone else is refused on every endpoint."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from commerce.payouts import services
from commerce.payouts.models import BankDetailsStatus, PayoutAccount, Withdrawal, WithdrawalStatus
from commerce.stores.models import VendorStaff
from commerce.wallet.models import LedgerEntry, Wallet
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.commerce import VendorFactory
from tests.factories.core import AdminFactory
from tests.factories.orders import funded_wallet
from tests.factories.stores import REFUSED, client_of, store_people
from tests.factories.stores import store_with_earnings as earning_store

pytestmark = pytest.mark.django_db

IBAN = "DE89 3704 0044 0532 0130 00"
BANK = {"holder_name": "Rapid Parts GmbH", "iban": IBAN, "bic": "cobadeffxxx"}


def account_url(vendor) -> str:
    return f"/api/v1/vendors/{vendor.pk}/payout-account/"


def withdraw(user, vendor, amount: str, **extra):
    return client_for(user).post(f"/api/v1/vendors/{vendor.pk}/withdrawals/", {"amount": amount, **extra},
                                 format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def wallet_of(vendor) -> Wallet:
    return Wallet.objects.get(user_id=vendor.owner_id, currency="EUR")


def ledger(vendor) -> list[tuple[str, str, str]]:
    return [(e.kind, f"{e.amount:.2f}", f"{e.held_amount:.2f}")
            for e in LedgerEntry.objects.filter(wallet=wallet_of(vendor)).order_by("id")]


# --- bank details -------------------------------------------------------------------------------


def test_the_owner_sets_bank_details_checked_and_normalised_and_sees_the_iban_masked():
    vendor = VendorFactory()
    response = client_for(vendor.owner).put(account_url(vendor), BANK, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["iban"], body["bic"], body["status"]) == ("DE89 **** **** **** **30 00", "COBADEFFXXX", "unverified")
    assert body["minimum_amount"] == "10.00" and body["available"] == "0.00"
    assert PayoutAccount.objects.get(vendor=vendor).iban == "DE89370400440532013000"
    assert client_for(AdminFactory()).get(account_url(vendor)).json()["iban"] == "DE89370400440532013000"
    event = OutboxEvent.objects.get(topic=f"user:{vendor.owner_id}", type="payout_account.updated")
    assert event.data["account"]["iban"] == "DE89 **** **** **** **30 00"


@pytest.mark.parametrize("change,field", [
    ({"iban": "DE89 3704 0044 0532 0130 01"}, "iban"),  # check digits
    ({"iban": "XX00 1234"}, "iban"),
    ({"bic": "COBADE"}, "bic"),
    ({"bic": "12345678"}, "bic"),
    ({"holder_name": ""}, "holder_name"),
    ({"minimum_amount": "0.50"}, "minimum_amount"),  # below PAYOUT_MINIMUM_FLOOR
])
def test_invalid_bank_details_are_refused_naming_the_field(change, field):
    vendor = VendorFactory()
    response = client_for(vendor.owner).put(account_url(vendor), {**BANK, **change}, format="json")
    assert response.status_code == 400 and field in response.json().get("fields", {}), response.json()
    assert not PayoutAccount.objects.filter(vendor=vendor).exists()


def test_staff_verify_bank_details_and_changed_details_need_verifying_again():
    vendor = VendorFactory()
    client_for(vendor.owner).put(account_url(vendor), BANK, format="json")
    admin = AdminFactory()
    assert client_for(vendor.owner).post(account_url(vendor) + "verify/").status_code == 403
    queue = client_for(admin).get("/api/v1/payouts/accounts/").json()["results"]
    assert [a["vendor"]["id"] for a in queue] == [str(vendor.pk)]
    verified = client_for(admin).post(account_url(vendor) + "verify/")
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    again = client_for(admin).post(account_url(vendor) + "verify/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    only_minimum = client_for(vendor.owner).put(account_url(vendor), {**BANK, "minimum_amount": "25.00"}, format="json")
    assert only_minimum.json()["status"] == "verified" and only_minimum.json()["minimum_amount"] == "25.00"
    changed = client_for(vendor.owner).put(account_url(vendor), {**BANK, "holder_name": "Someone Else"}, format="json")
    assert changed.json()["status"] == "unverified"
    rejected = client_for(admin).post(account_url(vendor) + "reject/", {"reason": "Name differs from the register."},
                                      format="json")
    assert rejected.json()["status"] == "rejected" and rejected.json()["status_reason"].startswith("Name differs")


def test_a_marketplace_admin_on_the_stores_staff_cannot_verify_its_bank_details():
    vendor = VendorFactory()
    client_for(vendor.owner).put(account_url(vendor), BANK, format="json")
    insider = AdminFactory()
    VendorStaff.objects.create(vendor=vendor, user=insider, role="manager")
    response = client_for(insider).post(account_url(vendor) + "verify/")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert PayoutAccount.objects.get(vendor=vendor).status == BankDetailsStatus.UNVERIFIED


# --- withdrawals ----------------------------------------------------------------------------------


def test_a_withdrawal_is_held_then_debited_when_staff_pay_it():
    vendor = earning_store("120.00")
    response = withdraw(vendor.owner, vendor, "100.00")
    assert response.status_code == 201, response.json()
    withdrawal = response.json()
    assert withdrawal["status"] == "requested" and withdrawal["iban"] == "DE89 **** **** **** **30 00"
    wallet = wallet_of(vendor)
    assert (wallet.balance, wallet.held_balance, wallet.available) == \
        (Decimal("120.00"), Decimal("100.00"), Decimal("20.00"))
    assert ledger(vendor)[-1] == ("hold", "0.00", "100.00")
    admin = AdminFactory()
    url = f"/api/v1/payouts/withdrawals/{withdrawal['id']}"
    early = client_for(admin).post(f"{url}/pay/", {"bank_reference": "TRX-1"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    assert client_for(admin).post(f"{url}/approve/").json()["status"] == "approved"
    paid = client_for(admin).post(f"{url}/pay/", {"bank_reference": "TRX-2026-11-24-001"}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert paid.json()["bank_reference"] == "TRX-2026-11-24-001" and paid.json()["iban"] == "DE89370400440532013000"
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held_balance) == (Decimal("20.00"), Decimal("0.00"))
    assert ledger(vendor)[-2:] == [("hold", "0.00", "100.00"), ("withdrawal", "-100.00", "-100.00")]
    statuses = [e.data["withdrawal"]["status"] for e in OutboxEvent.objects.filter(
        topic=f"user:{vendor.owner_id}", type="withdrawal.updated").order_by("id")]
    assert statuses == ["requested", "approved", "paid"]


@pytest.mark.parametrize("stage", ["requested", "approved"])
def test_a_rejected_withdrawal_releases_the_hold(stage):
    vendor = earning_store("50.00")
    withdrawal_id = withdraw(vendor.owner, vendor, "40.00").json()["id"]
    admin = AdminFactory()
    if stage == "approved":
        client_for(admin).post(f"/api/v1/payouts/withdrawals/{withdrawal_id}/approve/")
    rejected = client_for(admin).post(f"/api/v1/payouts/withdrawals/{withdrawal_id}/reject/",
                                      {"reason": "Account closed at the bank."}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    wallet = wallet_of(vendor)
    assert (wallet.balance, wallet.held_balance) == (Decimal("50.00"), Decimal("0.00"))
    assert ledger(vendor)[-1] == ("release", "0.00", "-40.00")


def test_the_owner_cancels_a_requested_withdrawal_but_not_an_approved_one():
    vendor = earning_store("50.00")
    first = withdraw(vendor.owner, vendor, "20.00").json()["id"]
    cancelled = client_for(vendor.owner).post(f"/api/v1/vendors/{vendor.pk}/withdrawals/{first}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert wallet_of(vendor).held_balance == Decimal("0.00")
    second = withdraw(vendor.owner, vendor, "20.00").json()["id"]
    client_for(AdminFactory()).post(f"/api/v1/payouts/withdrawals/{second}/approve/")
    late = client_for(vendor.owner).post(f"/api/v1/vendors/{vendor.pk}/withdrawals/{second}/cancel/")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"


def test_a_withdrawal_below_the_stores_minimum_or_above_the_available_money_is_refused():
    vendor = earning_store("30.00", minimum="15.00")
    below = withdraw(vendor.owner, vendor, "14.99")
    assert below.status_code == 400 and below.json()["code"] == "below_minimum"
    assert below.json()["minimum_amount"] == "15.00"
    above = withdraw(vendor.owner, vendor, "30.01")
    assert above.status_code == 409 and above.json()["code"] == "insufficient_funds"
    assert withdraw(vendor.owner, vendor, "15.00").status_code == 201
    rest = withdraw(vendor.owner, vendor, "15.00")
    assert rest.status_code == 201  # exactly what was left
    nothing_left = withdraw(vendor.owner, vendor, "15.00")
    assert nothing_left.status_code == 409 and nothing_left.json()["code"] == "insufficient_funds"
    assert Withdrawal.objects.filter(vendor=vendor).count() == 2


def test_no_withdrawal_without_verified_bank_details_or_from_a_suspended_store():
    vendor = VendorFactory()
    funded_wallet(vendor.owner, "50.00")
    missing = withdraw(vendor.owner, vendor, "20.00")
    assert missing.status_code == 409 and missing.json()["code"] == "bank_details_missing"
    client_for(vendor.owner).put(account_url(vendor), BANK, format="json")
    unverified = withdraw(vendor.owner, vendor, "20.00")
    assert unverified.status_code == 409 and unverified.json()["code"] == "bank_details_not_verified"
    services.payout_account_verify(vendor_id=vendor.pk, actor=AdminFactory())
    client_for(AdminFactory()).post(f"/api/v1/vendors/{vendor.pk}/suspend/", {"reason": "Checks"}, format="json")
    suspended = withdraw(vendor.owner, vendor, "20.00")
    assert suspended.status_code in (404, 409) and not Withdrawal.objects.exists()


def test_a_withdrawal_goes_to_the_details_verified_when_it_was_requested():
    vendor = earning_store("50.00")
    withdrawal_id = withdraw(vendor.owner, vendor, "20.00").json()["id"]
    client_for(vendor.owner).put(account_url(vendor), {**BANK, "iban": "GB82 WEST 1234 5698 7654 32",
                                                       "bic": "NWBKGB2L"}, format="json")
    stored = Withdrawal.objects.get(pk=withdrawal_id)
    assert (stored.iban, stored.bic) == ("DE89370400440532013000", "COBADEFFXXX")


# --- wrong actors -----------------------------------------------------------------------------


def test_only_the_owners_use_the_stores_payout_endpoints():
    vendor = earning_store("80.00")
    people = store_people(vendor)
    withdrawal_id = withdraw(vendor.owner, vendor, "20.00").json()["id"]
    base = f"/api/v1/vendors/{vendor.pk}"
    calls = [
        ("get", f"{base}/payout-account/", None),
        ("put", f"{base}/payout-account/", {**BANK, "holder_name": "Thief"}),
        ("get", f"{base}/withdrawals/", None),
        ("post", f"{base}/withdrawals/", {"amount": "20.00"}),
        ("get", f"{base}/withdrawals/{withdrawal_id}/", None),
        ("post", f"{base}/withdrawals/{withdrawal_id}/cancel/", None),
    ]
    for who, user in people.items():
        for method, url, body in calls:
            response = getattr(client_of(user), method)(url, body, format="json",
                                                        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
            assert response.status_code in REFUSED, (who, method, url, response.status_code)
    assert PayoutAccount.objects.get(vendor=vendor).holder_name == "Rapid Parts GmbH"
    assert list(Withdrawal.objects.values_list("status", flat=True)) == [WithdrawalStatus.REQUESTED]


def test_only_marketplace_staff_outside_the_store_work_the_payout_queue():
    vendor = earning_store("80.00")
    people = store_people(vendor)
    withdrawal_id = withdraw(vendor.owner, vendor, "20.00").json()["id"]
    calls = [
        ("get", "/api/v1/payouts/withdrawals/", None),
        ("get", "/api/v1/payouts/accounts/", None),
        ("post", f"/api/v1/payouts/withdrawals/{withdrawal_id}/approve/", None),
        ("post", f"/api/v1/payouts/withdrawals/{withdrawal_id}/pay/", {"bank_reference": "X"}),
        ("post", f"/api/v1/payouts/withdrawals/{withdrawal_id}/reject/", {"reason": "X"}),
        ("post", f"/api/v1/vendors/{vendor.pk}/payout-account/verify/", None),
        ("post", f"/api/v1/vendors/{vendor.pk}/payout-account/reject/", {"reason": "X"}),
    ]
    for who, user in {**people, "owner": vendor.owner}.items():
        for method, url, body in calls:
            response = getattr(client_of(user), method)(url, body, format="json")
            assert response.status_code in REFUSED, (who, method, url, response.status_code)
    assert Withdrawal.objects.get(pk=withdrawal_id).status == WithdrawalStatus.REQUESTED
    assert PayoutAccount.objects.get(vendor=vendor).status == BankDetailsStatus.VERIFIED
    queue = client_for(AdminFactory()).get("/api/v1/payouts/withdrawals/").json()["results"]
    assert [w["id"] for w in queue] == [withdrawal_id]
