"""Logout revokes every token of that session (issue 13, item 5; table row 13).

A session is one refresh-token family (``core.tokens``): the sign-in's refresh token, the refresh
tokens rotation hands out after it, and every access token minted from any of them. Logging out
ends all of them, on REST and on the socket; other sessions of the same user keep working.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.services import password_reset_link
from tests.factories.core import PASSWORD, UserFactory
from tests.live import WSClient

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"


def sign_in(user) -> dict:
    response = APIClient().post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(raw: str):
    return APIClient().post(REFRESH, {"refresh": raw}, format="json")


def me(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME).status_code


def logout(access: str, refresh_token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.post(LOGOUT, {"refresh": refresh_token}, format="json").status_code


@pytest.mark.django_db
def test_an_access_token_issued_before_a_refresh_stops_working_after_logout():
    """Row 13: refresh, then log out: the access token from before the refresh is refused at once
    (it used to work for up to 15 minutes), as is every refresh token of the session."""
    user = UserFactory()
    first = sign_in(user)
    second = refresh(first["refresh"]).json()
    third = refresh(second["refresh"]).json()
    assert me(first["access"]) == me(second["access"]) == 200

    assert logout(third["access"], third["refresh"]) == 204

    assert [me(t["access"]) for t in (first, second, third)] == [401, 401, 401]
    assert refresh(third["refresh"]).json()["code"] == "token_blacklisted"


@pytest.mark.django_db
def test_logout_with_an_old_refresh_token_still_ends_the_whole_session():
    """Row 13: a client that logs out with a refresh token that was already rotated (a stale copy)
    ends the session too: the newest refresh token of the family no longer refreshes."""
    user = UserFactory()
    first = sign_in(user)
    second = refresh(first["refresh"]).json()

    assert logout(second["access"], first["refresh"]) == 204

    assert refresh(second["refresh"]).json()["code"] == "token_blacklisted"
    assert me(second["access"]) == 401


@pytest.mark.django_db
def test_logout_ends_only_its_own_session():
    """Row 13 scope: "session" is the refresh-token family, not the user: the user's other device
    (another sign-in) stays signed in and can refresh."""
    user = UserFactory()
    laptop, phone = sign_in(user), sign_in(user)
    laptop_later = refresh(laptop["refresh"]).json()

    assert logout(phone["access"], phone["refresh"]) == 204

    assert me(phone["access"]) == 401
    assert me(laptop["access"]) == me(laptop_later["access"]) == 200
    assert refresh(laptop_later["refresh"]).status_code == 200


@pytest.mark.django_db
def test_a_password_reset_ends_every_session_of_the_user_at_once():
    """Row 13, the "everywhere" case: after a password reset no access token of any earlier
    session works, not only their refresh tokens."""
    user = UserFactory()
    laptop, phone = sign_in(user), sign_in(user)
    phone_later = refresh(phone["refresh"]).json()
    user.refresh_from_db()  # sign-in updated last_login, which reset links are bound to
    uid, token, _ = password_reset_link(user=user)

    assert APIClient().post(CONFIRM, {"uid": uid, "token": token, "new_password": "a-New-passw0rd!"},
                            format="json").status_code == 204

    assert [me(laptop["access"]), me(phone["access"]), me(phone_later["access"])] == [401, 401, 401]


@pytest.mark.live
def test_after_logout_the_socket_refuses_every_access_token_of_the_session(live):
    """Row 13 on the socket: `auth` with an access token minted before the refresh is refused
    with `invalid_token` once the session logged out (the gateway shares core.tokens' check)."""
    user = UserFactory()
    first = sign_in(user)
    second = refresh(first["refresh"]).json()
    socket = WSClient(live.ws_url)
    try:
        assert socket.request("auth", token=first["access"])["status"] == "ok"
    finally:
        socket.close()

    assert logout(second["access"], second["refresh"]) == 204

    socket = WSClient(live.ws_url)
    try:
        reply = socket.request("auth", token=first["access"])
        assert reply["status"] == "error" and reply["error"]["code"] == "invalid_token", reply
    finally:
        socket.close()
