"""Saved addresses under ``/api/v1/me/addresses/``: owner-only CRUD, default switching,
country and coordinate validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import services
from core.models import Address
from tests.conftest import client_for
from tests.factories.core import AddressFactory, UserFactory

LIST = "/api/v1/me/addresses/"


def detail(address_id) -> str:
    return f"{LIST}{address_id}/"


def payload(**overrides) -> dict:
    data = {
        "label": "Home",
        "full_name": "Ada Lovelace",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }
    data.update(overrides)
    return data


# --- CRUD ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_then_list_then_retrieve_an_address(user_client, user):
    created = user_client.post(LIST, payload(latitude="52.517036", longitude="13.388860"), format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["country"] == "DE" and body["latitude"] == "52.517036"
    assert body["is_default_shipping"] is False and body["is_default_billing"] is False
    listed = user_client.get(LIST)
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [body["id"]]
    assert user_client.get(detail(body["id"])).json() == body
    assert Address.objects.get(pk=body["id"]).user_id == user.pk


@pytest.mark.django_db
def test_list_shows_only_my_addresses(user_client, user):
    mine = AddressFactory(user=user)
    AddressFactory()  # someone else's

    response = user_client.get(LIST)

    assert [a["id"] for a in response.json()] == [str(mine.pk)]


@pytest.mark.django_db
def test_patch_changes_only_the_given_fields(user_client, user):
    address = AddressFactory(user=user, label="Home", city="Berlin")

    response = user_client.patch(detail(address.pk), {"city": "Potsdam"}, format="json")

    assert response.status_code == 200, response.content
    address.refresh_from_db()
    assert (address.city, address.label) == ("Potsdam", "Home")


@pytest.mark.django_db
def test_put_replaces_the_address_and_resets_omitted_optional_fields(user_client, user):
    address = AddressFactory(user=user, label="Old", line2="Apt 4", is_default_billing=True)

    response = user_client.put(detail(address.pk), payload(label="New"), format="json")

    assert response.status_code == 200, response.content
    address.refresh_from_db()
    assert address.label == "New"
    assert address.line2 == ""
    assert address.latitude is None and address.longitude is None
    assert address.is_default_billing is False


@pytest.mark.django_db
def test_put_requires_the_mandatory_fields(user_client, user):
    address = AddressFactory(user=user)

    response = user_client.put(detail(address.pk), {"city": "Paris"}, format="json")

    assert response.status_code == 400
    assert {"full_name", "line1", "postal_code", "country"} <= set(response.json()["fields"])


@pytest.mark.django_db
def test_delete_removes_my_address(user_client, user):
    address = AddressFactory(user=user)

    response = user_client.delete(detail(address.pk))

    assert response.status_code == 204
    assert not Address.objects.filter(pk=address.pk).exists()


# --- ownership ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_users_address_is_404_and_stays_unchanged(user_client, method):
    theirs = AddressFactory(city="Hamburg", is_default_shipping=True)
    theirs.refresh_from_db()
    before = {f.name: getattr(theirs, f.name) for f in Address._meta.fields}

    call = getattr(user_client, method)
    body = payload(city="Stolen", is_default_shipping=False) if method in ("patch", "put") else None
    response = call(detail(theirs.pk), body, format="json") if body else call(detail(theirs.pk))

    assert response.status_code == 404
    assert response.json()["code"] == "address_not_found"
    theirs.refresh_from_db()
    assert {f.name: getattr(theirs, f.name) for f in Address._meta.fields} == before


@pytest.mark.django_db
def test_addresses_require_authentication(api_client):
    assert api_client.get(LIST).status_code == 401
    assert api_client.post(LIST, payload(), format="json").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("address_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_malformed_or_unknown_address_id_is_a_json_404(user_client, address_id):
    response = user_client.get(detail(address_id))

    assert response.status_code == 404
    assert response.json()["code"] == "address_not_found"


# --- defaults -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_default_shipping_address_clears_the_previous_one(user_client, user):
    first = user_client.post(LIST, payload(is_default_shipping=True, is_default_billing=True), format="json").json()

    second = user_client.post(LIST, payload(label="Work", is_default_shipping=True), format="json")

    assert second.status_code == 201, second.content
    rows = {str(a.pk): a for a in Address.objects.filter(user=user)}
    assert rows[second.json()["id"]].is_default_shipping is True
    assert rows[first["id"]].is_default_shipping is False
    assert rows[first["id"]].is_default_billing is True  # the other flag is untouched


@pytest.mark.django_db
def test_patching_default_billing_moves_it_between_addresses(user_client, user):
    a = AddressFactory(user=user, is_default_billing=True, is_default_shipping=True)
    b = AddressFactory(user=user)

    response = user_client.patch(detail(b.pk), {"is_default_billing": True}, format="json")

    assert response.status_code == 200, response.content
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.is_default_billing, b.is_default_billing) == (False, True)
    assert (a.is_default_shipping, b.is_default_shipping) == (True, False)
    listed = {x["id"]: x for x in user_client.get(LIST).json()}
    assert [k for k, v in listed.items() if v["is_default_billing"]] == [str(b.pk)]


@pytest.mark.django_db
def test_default_switching_does_not_touch_other_users_defaults(user_client, user):
    theirs = AddressFactory(is_default_shipping=True)

    user_client.post(LIST, payload(is_default_shipping=True), format="json")

    theirs.refresh_from_db()
    assert theirs.is_default_shipping is True


@pytest.mark.django_db
def test_unsetting_a_default_leaves_the_user_without_one(user_client, user):
    a = AddressFactory(user=user, is_default_shipping=True)

    user_client.patch(detail(a.pk), {"is_default_shipping": False}, format="json")

    assert not Address.objects.filter(user=user, is_default_shipping=True).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_default_switches_leave_exactly_one_default():
    import threading

    from django.db import connection

    user = UserFactory()
    addresses = [AddressFactory(user=user) for _ in range(4)]
    barrier = threading.Barrier(len(addresses))
    errors: list[BaseException] = []

    def make_default(address):
        try:
            barrier.wait()
            services.address_update(address=address, data={"is_default_shipping": True})
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=make_default, args=(a,)) for a in addresses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Address.objects.filter(user=user, is_default_shipping=True).count() == 1


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_country_code_is_upper_cased(user_client):
    response = user_client.post(LIST, payload(country="fr"), format="json")

    assert response.status_code == 201
    assert response.json()["country"] == "FR"


@pytest.mark.django_db
@pytest.mark.parametrize("country", ["XX", "D", "DEU", "12", "UK"])
def test_a_country_that_is_not_iso_alpha_2_is_refused(user_client, user, country):
    response = user_client.post(LIST, payload(country=country), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "country" in response.json()["fields"]
    assert not Address.objects.filter(user=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "coords, field",
    [
        ({"latitude": "90.000001", "longitude": "0"}, "latitude"),
        ({"latitude": "-91", "longitude": "0"}, "latitude"),
        ({"latitude": "0", "longitude": "180.5"}, "longitude"),
        ({"latitude": "0", "longitude": "-1000"}, "longitude"),
        ({"latitude": "NaN", "longitude": "0"}, "latitude"),
        ({"latitude": "1e400", "longitude": "0"}, "latitude"),
        ({"latitude": "52.5"}, "longitude"),
        ({"longitude": "13.4"}, "latitude"),
    ],
)
def test_out_of_range_or_half_given_coordinates_are_refused(user_client, user, coords, field):
    response = user_client.post(LIST, payload(**coords), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Address.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_coordinates_at_the_bounds_are_accepted_and_extra_precision_is_rounded(user_client):
    response = user_client.post(LIST, payload(latitude=-90, longitude=52.5200081234), format="json")

    assert response.status_code == 201, response.content
    address = Address.objects.get(pk=response.json()["id"])
    assert address.latitude == Decimal("-90.000000")
    assert address.longitude == Decimal("52.520008")


@pytest.mark.django_db
def test_patching_only_latitude_keeps_the_stored_longitude(user_client, user):
    address = AddressFactory(user=user, latitude="52.520008", longitude="13.404954")

    response = user_client.patch(detail(address.pk), {"latitude": "48.137154"}, format="json")

    assert response.status_code == 200, response.content
    address.refresh_from_db()
    assert (address.latitude, address.longitude) == (Decimal("48.137154"), Decimal("13.404954"))


@pytest.mark.django_db
def test_coordinates_can_be_cleared_together(user_client, user):
    address = AddressFactory(user=user)

    response = user_client.patch(detail(address.pk), {"latitude": None, "longitude": None}, format="json")

    assert response.status_code == 200, response.content
    address.refresh_from_db()
    assert address.latitude is None and address.longitude is None


@pytest.mark.django_db
def test_address_limit_is_enforced(user):
    AddressFactory.create_batch(services.MAX_ADDRESSES_PER_USER, user=user)

    response = client_for(user).post(LIST, payload(), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "address_limit_reached"
    assert Address.objects.filter(user=user).count() == services.MAX_ADDRESSES_PER_USER


@pytest.mark.django_db
def test_address_service_refuses_a_bad_country_when_called_directly():
    from core.exceptions import ApplicationError

    user = UserFactory()

    with pytest.raises(ApplicationError) as exc:
        services.address_create(user=user, data=payload(country="ZZ"))

    assert exc.value.code == "invalid" and "country" in exc.value.fields
