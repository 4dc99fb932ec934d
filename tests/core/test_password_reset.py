"""Password reset by email, end to end through ``django.core.mail.outbox`` (locmem backend)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core import services
from core.models import User
from tests.conftest import tokens_for
from tests.factories.core import PASSWORD, UserFactory

RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
TOKEN = "/api/v1/auth/token/"
NEW_PASSWORD = "a-brand-new-passphrase-42"


def link_parts(message) -> tuple[str, str, str]:
    match = re.search(r"(https?://\S+)\?uid=([\w-]+)&token=([\w-]+)", message.body)
    assert match, message.body
    return match.group(1), match.group(2), match.group(3)


@pytest.mark.django_db
def test_password_reset_end_to_end(api_client, settings):
    settings.FRONTEND_URL = "https://shop.example"
    user = UserFactory(email="forgetful@example.com")

    requested = api_client.post(RESET, {"email": "Forgetful@Example.com"}, format="json")

    assert requested.status_code == 204
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.com"]
    assert "password" in message.subject.lower()
    base, uid, token = link_parts(message)
    assert base.startswith("https://shop.example/")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f"uid={uid}&amp;token={token}" in html

    confirmed = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")

    assert confirmed.status_code == 204, confirmed.content
    assert api_client.post(TOKEN, {"email": user.email, "password": NEW_PASSWORD}, format="json").status_code == 200
    old = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert old.status_code == 401 and old.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_a_reset_link_works_only_once(api_client):
    user = UserFactory()
    api_client.post(RESET, {"email": user.email}, format="json")
    _, uid, token = link_parts(mail.outbox[0])
    assert api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json").status_code == 204

    again = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": "yet-another-pass-77"}, format="json")

    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["nobody@example.com", "inactive@example.com"])
def test_reset_request_answers_204_and_sends_nothing_for_unknown_or_inactive_accounts(api_client, email):
    UserFactory(email="inactive@example.com", is_active=False)

    response = api_client.post(RESET, {"email": email}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert mail.outbox == []


@pytest.mark.django_db
def test_reset_request_answers_the_same_for_known_and_unknown_emails(api_client):
    UserFactory(email="known@example.com")

    known = api_client.post(RESET, {"email": "known@example.com"}, format="json")
    unknown = api_client.post(RESET, {"email": "unknown@example.com"}, format="json")

    assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (204, b"")
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uid, token",
    [
        ("!!!", "abc-def"),
        ("bm90LWEtdXVpZA", "abc-def"),  # base64 of "not-a-uuid"
        ("MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw", "abc-def"),  # unknown uuid
        (None, "forged-token"),  # the real uid, a wrong token
    ],
)
def test_confirm_refuses_malformed_or_forged_links_with_invalid_token(api_client, uid, token):
    user = UserFactory()
    if uid is None:
        uid, _, _ = services.password_reset_link(user=user)

    response = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


@pytest.mark.django_db
def test_confirm_refuses_an_expired_link(api_client, settings):
    user = UserFactory()
    uid, token, _ = services.password_reset_link(user=user)
    settings.PASSWORD_RESET_TIMEOUT = -1  # every token issued so far is now too old

    response = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


@pytest.mark.django_db
def test_confirm_refuses_a_weak_password_and_keeps_the_link_usable(api_client):
    user = UserFactory()
    uid, token, _ = services.password_reset_link(user=user)

    weak = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": "12345678"}, format="json")

    assert weak.status_code == 400
    assert weak.json()["code"] == "invalid"
    assert "new_password" in weak.json()["fields"]
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    ok = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")
    assert ok.status_code == 204


@pytest.mark.django_db
def test_a_password_reset_signs_the_user_out_everywhere(api_client, django_capture_on_commit_callbacks):
    user = UserFactory()
    session = tokens_for(user)
    uid, token, _ = services.password_reset_link(user=user)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 204
    refreshed = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": session["refresh"]}, format="json")
    assert refreshed.status_code == 401 and refreshed.json()["code"] == "token_blacklisted"
    assert len(callbacks) == 1  # the socket close (disconnect_user), sent after commit


@pytest.mark.django_db
def test_a_failing_mail_server_neither_errors_nor_reveals_the_account(api_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens
    UserFactory(email="real@example.com")

    response = api_client.post(RESET, {"email": "real@example.com"}, format="json")

    assert response.status_code == 204


@pytest.mark.django_db
def test_a_background_token_refresh_does_not_void_a_pending_reset_link(api_client):
    user = UserFactory()
    session = tokens_for(user)
    uid, token, _ = services.password_reset_link(user=user)

    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": session["refresh"]}, format="json").status_code == 200
    response = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 204
