"""Error bodies of the accounts API: always ``{"code", "detail"}`` (plus ``fields`` for validation),
never a 500 for client input; throttling answers 429 ``throttled``."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from realtime.streams import sync_client
from tests.factories.core import PASSWORD, UserFactory

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"


def assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- shapes -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_validation_errors_carry_fields_with_lists_of_messages(api_client):
    response = api_client.post(REGISTER, {"password": "horse-battery-9"}, format="json")

    body = assert_error_body(response, 400, "invalid")
    assert body["fields"] == {"email": [body["fields"]["email"][0]]}
    assert isinstance(body["fields"]["email"][0], str)


@pytest.mark.django_db
def test_domain_refusals_have_code_and_detail(api_client):
    response = api_client.post(TOKEN, {"email": "x@example.com", "password": "nope-nope-nope"}, format="json")

    body = assert_error_body(response, 401, "invalid_credentials")
    assert set(body) == {"code", "detail"}


@pytest.mark.django_db
def test_malformed_json_is_a_400_parse_error(api_client):
    response = api_client.post(REGISTER, data="{not json", content_type="application/json")

    assert_error_body(response, 400, "parse_error")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [REGISTER, TOKEN, REFRESH, RESET, CONFIRM])
def test_a_json_array_instead_of_an_object_is_a_400_not_a_500(api_client, path):
    response = api_client.post(path, [1, 2, 3], format="json")

    body = assert_error_body(response, 400, "invalid")
    assert "non_field_errors" in body["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, data",
    [
        (REGISTER, {"email": ["a@example.com"], "password": {"x": 1}}),
        (REGISTER, {"email": "a@example.com", "password": "horse-battery-9", "display_name": "bad\x00name"}),
        (REGISTER, {"email": "a@example.com", "password": "x" * 5000}),
        (TOKEN, {"email": None, "password": None}),
        (TOKEN, {"email": "a@example.com", "password": True}),
        (REFRESH, {"refresh": 12345}),
        (REFRESH, {"refresh": "a" * 10000}),
        (CONFIRM, {"uid": "\x00", "token": "t", "new_password": "horse-battery-9"}),
        ("/api/v1/me/addresses/", {"full_name": "A", "line1": "L", "city": "C", "postal_code": "P", "country": "\x00\x00"}),
        ("/api/v1/me/addresses/", {"full_name": "A", "line1": "L", "city": "C", "postal_code": "P", "country": "DE", "latitude": [1]}),
        ("/api/v1/me/addresses/", {"full_name": "A" * 500, "line1": "L", "city": "C", "postal_code": "P", "country": "DE"}),
    ],
)
def test_hostile_input_gets_a_4xx_with_a_code_never_a_500(user_client, path, data):
    response = user_client.post(path, data, format="json")

    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    body = response.json()
    assert body["code"] and body["detail"]


@pytest.mark.django_db
def test_a_wrong_method_is_405_method_not_allowed(api_client):
    response = api_client.get(TOKEN)

    assert_error_body(response, 405, "method_not_allowed")


@pytest.mark.django_db
def test_a_stale_authorization_header_does_not_block_sign_in():
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    response = client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")

    assert response.status_code == 200


# --- throttling ---------------------------------------------------------------------------------


def _clear_throttles() -> None:
    client = sync_client()
    keys = list(client.scan_iter(match="test:*throttle_*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def throttle_rates(settings):
    """Set ``DEFAULT_THROTTLE_RATES`` for one test, with no request counted yet. Tests use rates
    per hour: the throttles count in fixed windows, and an hour-long window does not roll over
    in the middle of a test."""

    def set_rates(**rates: str) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **rates},
        }

    _clear_throttles()
    yield set_rates
    _clear_throttles()


@pytest.mark.django_db
def test_auth_endpoints_answer_429_throttled_past_the_auth_rate(throttle_rates):
    throttle_rates(auth="3/hour")
    client = APIClient()
    user = UserFactory()

    answers = [client.post(TOKEN, {"email": user.email, "password": "wrong-pass-1"}, format="json") for _ in range(3)]
    blocked = client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")

    assert [a.status_code for a in answers] == [401, 401, 401]
    body = assert_error_body(blocked, 429, "throttled")
    assert body["retry_after"] >= 1
    assert int(blocked["Retry-After"]) >= 1
    assert "access" not in body


@pytest.mark.django_db
def test_register_and_refresh_share_the_auth_budget_of_a_client(throttle_rates):
    throttle_rates(auth="2/hour")
    client = APIClient()

    client.post(REGISTER, {"email": "one@example.com", "password": "horse-battery-9"}, format="json")
    client.post(REFRESH, {"refresh": "x"}, format="json")

    assert_error_body(client.post(REGISTER, {"email": "two@example.com", "password": "horse-battery-9"}, format="json"), 429, "throttled")
    other_client = APIClient(REMOTE_ADDR="10.9.8.7")
    assert other_client.post(REFRESH, {"refresh": "x"}, format="json").status_code == 401


@pytest.mark.django_db
def test_a_spoofed_x_forwarded_for_does_not_reset_the_budget(throttle_rates):
    throttle_rates(auth="1/hour")
    APIClient().post(REFRESH, {"refresh": "x"}, format="json")

    response = APIClient().post(REFRESH, {"refresh": "x"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert_error_body(response, 429, "throttled")


@pytest.mark.django_db
def test_password_reset_is_throttled_per_client_and_per_email(throttle_rates):
    throttle_rates(password_reset="1/hour")
    UserFactory(email="victim@example.com")

    first = APIClient().post(RESET, {"email": "victim@example.com"}, format="json")
    same_client = APIClient().post(RESET, {"email": "someone@example.com"}, format="json")
    other_client_same_email = APIClient(REMOTE_ADDR="10.1.2.3").post(RESET, {"email": "VICTIM@example.com"}, format="json")
    other_client_other_email = APIClient(REMOTE_ADDR="10.1.2.4").post(RESET, {"email": "else@example.com"}, format="json")

    assert first.status_code == 204
    assert_error_body(same_client, 429, "throttled")
    assert_error_body(other_client_same_email, 429, "throttled")
    assert other_client_other_email.status_code == 204


@pytest.mark.django_db
def test_the_default_test_rates_do_not_throttle_normal_use(throttle_rates):
    client = APIClient()

    codes = {client.post(REFRESH, {"refresh": "x"}, format="json").status_code for _ in range(30)}

    assert codes == {401}
