"""The profile endpoint ``/api/v1/me/`` and the OpenAPI description of the accounts API."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from core.models import User
from core.permissions import is_marketplace_admin
from tests.conftest import client_for
from tests.factories.core import UserFactory

ME = "/api/v1/me/"


@pytest.mark.django_db
def test_me_returns_the_signed_in_account(user_client, user):
    response = user_client.get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user.pk)
    assert body["email"] == user.email
    assert body["roles"] == ["buyer"]
    assert set(body) == {"id", "email", "display_name", "phone", "roles", "date_joined"}


@pytest.mark.django_db
def test_me_requires_authentication(api_client):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_patch_me_changes_display_name_and_phone(user_client, user):
    response = user_client.patch(ME, {"display_name": "  Zoë Q  ", "phone": "+49 30 1234567"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Zoë Q"
    user.refresh_from_db()
    assert (user.display_name, user.phone) == ("Zoë Q", "+49 30 1234567")


@pytest.mark.django_db
def test_patch_me_ignores_email_and_roles(user_client, user):
    original_email = user.email

    response = user_client.patch(
        ME, {"email": "hijack@example.com", "roles": ["admin"], "display_name": "Still me"}, format="json"
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email == original_email
    assert user.roles == ["buyer"]
    assert not is_marketplace_admin(user)
    assert response.json()["roles"] == ["buyer"]


@pytest.mark.django_db
def test_patch_me_with_only_phone_leaves_display_name_alone(user_client, user):
    before = user.display_name

    user_client.patch(ME, {"phone": "030 987654"}, format="json")

    user.refresh_from_db()
    assert user.display_name == before and user.phone == "030 987654"


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["call me", "12", "+49 30 12345678901234567890123456789"])
def test_patch_me_refuses_a_malformed_phone(user_client, user, phone):
    response = user_client.patch(ME, {"phone": phone}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "phone" in response.json()["fields"]
    assert User.objects.get(pk=user.pk).phone == ""


@pytest.mark.django_db
def test_patch_me_can_clear_the_phone():
    user = UserFactory(phone="+1 555 0100")

    response = client_for(user).patch(ME, {"phone": ""}, format="json")

    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).phone == ""


@pytest.mark.django_db
def test_put_on_me_is_not_allowed(user_client):
    response = user_client.put(ME, {"display_name": "x"}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_openapi_schema_documents_every_accounts_operation_with_its_error_codes():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    expected = {
        ("/api/v1/auth/register/", "post"): {"201", "400", "429"},
        ("/api/v1/auth/token/", "post"): {"200", "401", "429"},
        ("/api/v1/auth/token/refresh/", "post"): {"200", "401", "429"},
        ("/api/v1/auth/logout/", "post"): {"204", "400", "401", "403"},
        ("/api/v1/auth/password-reset/", "post"): {"204", "429"},
        ("/api/v1/auth/password-reset/confirm/", "post"): {"204", "400"},
        ("/api/v1/me/", "get"): {"200", "401"},
        ("/api/v1/me/", "patch"): {"200", "400"},
        ("/api/v1/me/addresses/", "get"): {"200"},
        ("/api/v1/me/addresses/", "post"): {"201", "400"},
        ("/api/v1/me/addresses/{address_id}/", "get"): {"200", "404"},
        ("/api/v1/me/addresses/{address_id}/", "put"): {"200", "404"},
        ("/api/v1/me/addresses/{address_id}/", "patch"): {"200", "404"},
        ("/api/v1/me/addresses/{address_id}/", "delete"): {"204", "404"},
    }
    for (path, method), codes in expected.items():
        operation = paths[path][method]
        assert codes <= set(operation["responses"]), (path, method, operation["responses"].keys())
        if method in ("post", "put", "patch") and not path.endswith("/logout/"):
            assert "requestBody" in operation, (path, method)
    public = ["/api/v1/auth/register/", "/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/password-reset/"]
    for path in public:
        assert not paths[path]["post"].get("security"), path
    assert paths["/api/v1/me/"]["get"]["security"]
    error = schema["components"]["schemas"]["Error"]
    assert {"code", "detail"} <= set(error["required"])
