"""Registration, sign-in, refresh rotation, logout and the refusal of bad JWTs (real PostgreSQL and
Redis; the channel layer is the real Redis one)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from datetime import timedelta

import jwt
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core import services
from core.exceptions import ApplicationError
from core.models import User
from core.signals import user_signed_in
from core.tokens import verify_access_token
from realtime.outbox import user_group
from tests.conftest import tokens_for
from tests.factories.core import PASSWORD, UserFactory

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def sign_in(email: str, password: str = PASSWORD) -> dict:
    response = APIClient().post(TOKEN, {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


# --- registration -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_creates_an_active_buyer_and_returns_it_without_the_password(api_client):
    response = api_client.post(
        REGISTER, {"email": "  New.Person@Example.COM ", "password": "horse-battery-9", "display_name": "Ann"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["roles"] == ["buyer"]
    assert body["display_name"] == "Ann"
    assert "password" not in body
    user = User.objects.get(pk=body["id"])
    assert user.is_active and user.check_password("horse-battery-9")


@pytest.mark.django_db
def test_register_refuses_an_email_taken_in_another_case(api_client):
    UserFactory(email="taken@example.com")

    response = api_client.post(REGISTER, {"email": "TAKEN@Example.com", "password": "horse-battery-9"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["12345678", "password", "short1"])
def test_register_refuses_a_password_failing_the_validators_with_field_errors(api_client, password):
    response = api_client.post(REGISTER, {"email": "weak@example.com", "password": password}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["password"] and all(isinstance(m, str) for m in body["fields"]["password"])
    assert not User.objects.filter(email="weak@example.com").exists()


@pytest.mark.django_db
def test_register_refuses_a_password_similar_to_the_email(api_client):
    response = api_client.post(
        REGISTER, {"email": "johnathan.smithers@example.com", "password": "johnathan.smithers"}, format="json"
    )

    assert response.status_code == 400
    assert "password" in response.json()["fields"]


@pytest.mark.django_db
def test_register_refuses_a_malformed_email(api_client):
    response = api_client.post(REGISTER, {"email": "not-an-email", "password": "horse-battery-9"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "email" in response.json()["fields"]


# --- sign-in ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_with_email_in_any_case_returns_a_working_token_pair(api_client):
    user = UserFactory(email="casey@example.com")

    response = api_client.post(TOKEN, {"email": "CaSeY@Example.COM", "password": PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    me = bearer(pair["access"]).get(ME)
    assert me.status_code == 200 and me.json()["id"] == str(user.pk)
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case", ["wrong_password", "unknown_email", "inactive_user"]
)
def test_sign_in_refuses_bad_credentials_with_401_invalid_credentials(api_client, case):
    UserFactory(email="known@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    email, password = {
        "wrong_password": ("known@example.com", "not-the-password"),
        "unknown_email": ("nobody@example.com", PASSWORD),
        "inactive_user": ("gone@example.com", PASSWORD),
    }[case]

    response = api_client.post(TOKEN, {"email": email, "password": password}, format="json")

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert isinstance(body["detail"], str) and body["detail"]
    assert "access" not in body


@pytest.mark.django_db
def test_sign_in_sends_user_signed_in_with_the_user_and_the_request(api_client):
    user = UserFactory()
    calls = []

    def receiver(sender, **kwargs):
        calls.append((sender, kwargs["user"], kwargs["request"].headers.get("X-Cart-Id")))

    user_signed_in.connect(receiver)
    try:
        api_client.post(TOKEN, {"email": user.email, "password": "wrong-password"}, format="json")
        assert calls == []  # a failed sign-in sends nothing
        response = api_client.post(
            TOKEN, {"email": user.email, "password": PASSWORD}, format="json", HTTP_X_CART_ID="cart-123"
        )
    finally:
        user_signed_in.disconnect(receiver)

    assert response.status_code == 200
    assert calls == [(User, user, "cart-123")]


@pytest.mark.django_db
def test_sign_in_succeeds_even_when_a_signal_receiver_fails(api_client):
    user = UserFactory()

    def broken(sender, **kwargs):
        raise RuntimeError("cart merge exploded")

    user_signed_in.connect(broken)
    try:
        response = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    finally:
        user_signed_in.disconnect(broken)

    assert response.status_code == 200
    assert "access" in response.json()


# --- refresh and rotation -----------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_rotates_the_refresh_token_and_refuses_the_used_one(api_client):
    user = UserFactory()
    first = sign_in(user.email)

    rotated = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")

    assert rotated.status_code == 200, rotated.content
    second = rotated.json()
    assert second["refresh"] != first["refresh"]
    assert bearer(second["access"]).get(ME).status_code == 200
    reused = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_blacklisted"
    assert api_client.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db
def test_refresh_refuses_a_blacklisted_refresh_token(api_client):
    user = UserFactory()
    refresh = RefreshToken.for_user(user)
    refresh.blacklist()

    response = api_client.post(REFRESH, {"refresh": str(refresh)}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_blacklisted"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["access_token", "garbage", "forged", "expired"])
def test_refresh_refuses_tokens_that_are_not_valid_refresh_tokens(api_client, kind):
    user = UserFactory()
    refresh = RefreshToken.for_user(user)
    if kind == "access_token":
        raw = str(refresh.access_token)
    elif kind == "garbage":
        raw = "not.a.jwt"
    elif kind == "forged":
        raw = jwt.encode(dict(refresh.payload), "another-signing-key-0123456789-abcdef", algorithm="HS256")
    else:
        refresh.set_exp(from_time=timezone.now() - timedelta(days=30))
        raw = str(refresh)

    response = api_client.post(REFRESH, {"refresh": raw}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_refresh_refuses_the_token_of_a_deactivated_user(api_client):
    user = UserFactory()
    pair = tokens_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_new_pair():
    user = UserFactory()
    raw = tokens_for(user)["refresh"]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            services.auth_refresh(refresh=raw)
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["ok", "token_blacklisted", "token_blacklisted", "token_blacklisted"]


# --- access tokens refused ----------------------------------------------------------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


@pytest.mark.django_db
def test_an_expired_access_token_is_refused():
    user = UserFactory()
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    fresh = AccessToken.for_user(user)

    response = bearer(str(token)).get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert bearer(str(fresh)).get(ME).status_code == 200


@pytest.mark.django_db
def test_an_access_token_signed_with_another_key_is_refused():
    user = UserFactory()
    payload = dict(AccessToken.for_user(user).payload)
    forged = jwt.encode(payload, "attacker-key-that-is-long-enough-0123456789", algorithm="HS256")
    genuine = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")

    response = bearer(forged).get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert bearer(genuine).get(ME).status_code == 200


@pytest.mark.django_db
def test_an_unsigned_alg_none_access_token_is_refused():
    user = UserFactory()
    payload = dict(AccessToken.for_user(user).payload)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."

    response = bearer(unsigned).get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    with pytest.raises(ApplicationError) as exc:
        verify_access_token(unsigned)
    assert exc.value.code == "invalid_token"


@pytest.mark.django_db
def test_a_refresh_token_used_as_an_access_token_is_refused():
    user = UserFactory()
    pair = tokens_for(user)

    response = bearer(pair["refresh"]).get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert bearer(pair["access"]).get(ME).status_code == 200


# --- logout -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token_and_revokes_the_access_token():
    user = UserFactory()
    pair = sign_in(user.email)
    client = bearer(pair["access"])
    assert client.get(ME).status_code == 200

    response = client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 204
    after = client.get(ME)
    assert after.status_code == 401
    assert after.json()["code"] == "token_revoked"
    refreshed = APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 401 and refreshed.json()["code"] == "token_blacklisted"
    with pytest.raises(ApplicationError):  # the WebSocket gateway refuses it too
        verify_access_token(pair["access"])


@pytest.mark.django_db
def test_logout_leaves_the_users_other_sessions_working():
    user = UserFactory()
    phone, laptop = sign_in(user.email), sign_in(user.email)

    assert bearer(phone["access"]).post(LOGOUT, {"refresh": phone["refresh"]}, format="json").status_code == 204

    assert bearer(laptop["access"]).get(ME).status_code == 200
    assert APIClient().post(REFRESH, {"refresh": laptop["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db
def test_logout_refuses_another_users_refresh_token_and_blacklists_nothing():
    me, other = UserFactory(), UserFactory()
    mine, theirs = tokens_for(me), tokens_for(other)
    client = bearer(mine["access"])

    response = client.post(LOGOUT, {"refresh": theirs["refresh"]}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "token_not_owned"
    assert BlacklistedToken.objects.count() == 0
    assert client.get(ME).status_code == 200
    assert APIClient().post(REFRESH, {"refresh": theirs["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["access_token", "garbage"])
def test_logout_refuses_a_body_that_is_not_a_refresh_token(kind):
    user = UserFactory()
    pair = tokens_for(user)
    raw = pair["access"] if kind == "access_token" else "xyz"

    response = bearer(pair["access"]).post(LOGOUT, {"refresh": raw}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_logout_requires_an_access_token(api_client):
    user = UserFactory()

    response = api_client.post(LOGOUT, {"refresh": tokens_for(user)["refresh"]}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_logout_with_an_already_blacklisted_refresh_token_still_signs_out():
    user = UserFactory()
    old = sign_in(user.email)
    APIClient().post(REFRESH, {"refresh": old["refresh"]}, format="json")  # old refresh now blacklisted
    current = sign_in(user.email)
    client = bearer(current["access"])

    response = client.post(LOGOUT, {"refresh": old["refresh"]}, format="json")

    assert response.status_code == 204
    assert client.get(ME).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_logout_closes_the_users_sockets_with_4401_after_commit():
    user, bystander = UserFactory(), UserFactory()
    pair = tokens_for(user)
    client = bearer(pair["access"])
    layer = get_channel_layer()

    async def scenario():
        mine = await layer.new_channel()
        theirs = await layer.new_channel()
        await layer.group_add(user_group(user.id), mine)
        await layer.group_add(user_group(bystander.id), theirs)
        response = await sync_to_async(client.post)(LOGOUT, {"refresh": pair["refresh"]}, format="json")
        message = await asyncio.wait_for(layer.receive(mine), timeout=5)
        try:
            stray = await asyncio.wait_for(layer.receive(theirs), timeout=0.5)
        except asyncio.TimeoutError:
            stray = None
        await layer.group_discard(user_group(user.id), mine)
        await layer.group_discard(user_group(bystander.id), theirs)
        return response, message, stray

    response, message, stray = async_to_sync(scenario)()

    assert response.status_code == 204
    assert message["type"] == "rt.close"
    assert message["code"] == 4401
    assert stray is None
