"""Banning users (``core.services.user_set_active`` and the admin actions) and the user admin."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from core import services
from core.exceptions import ApplicationError
from core.models import User
from realtime.outbox import user_group
from tests.conftest import tokens_for
from tests.factories.core import PASSWORD, AddressFactory, AdminFactory, UserFactory

ME = "/api/v1/me/"
REFRESH = "/api/v1/auth/token/refresh/"


def close_message_after(user_id, action) -> dict | None:
    """Join the user's gateway group with a real channel, run ``action`` (sync) and return the
    control message the group received within 5 s (``None`` if none)."""
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(user_group(user_id), channel)
        try:
            await sync_to_async(action)()
            return await asyncio.wait_for(layer.receive(channel), timeout=5)
        except asyncio.TimeoutError:
            return None
        finally:
            await layer.group_discard(user_group(user_id), channel)

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_banning_a_user_refuses_their_tokens_and_closes_their_sockets():
    admin, user = AdminFactory(), UserFactory()
    session = tokens_for(user)

    message = close_message_after(user.id, lambda: services.user_set_active(user=user, is_active=False, by=admin))

    assert message is not None and message["type"] == "rt.close" and message["code"] == 4401
    assert User.objects.get(pk=user.pk).is_active is False
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    assert client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": session["refresh"]}, format="json").status_code == 401


@pytest.mark.django_db
def test_reactivating_a_user_lets_them_sign_in_again(django_capture_on_commit_callbacks):
    admin, user = AdminFactory(), UserFactory(is_active=False)

    with django_capture_on_commit_callbacks() as callbacks:
        services.user_set_active(user=user, is_active=True, by=admin)

    assert User.objects.get(pk=user.pk).is_active is True
    assert callbacks == []  # nothing to close on reactivation
    response = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200


@pytest.mark.django_db
def test_only_administrators_may_ban():
    someone, user = UserFactory(), UserFactory()

    with pytest.raises(ApplicationError) as exc:
        services.user_set_active(user=user, is_active=False, by=someone)

    assert exc.value.code == "forbidden" and exc.value.status == 403
    assert User.objects.get(pk=user.pk).is_active is True


@pytest.mark.django_db
def test_an_administrator_cannot_ban_themself():
    admin = AdminFactory()

    with pytest.raises(ApplicationError) as exc:
        services.user_set_active(user=admin, is_active=False, by=admin)

    assert exc.value.code == "cannot_deactivate_self"
    assert User.objects.get(pk=admin.pk).is_active is True


# --- Django admin -------------------------------------------------------------------------------


@pytest.fixture
def admin_site_client(client):
    admin = AdminFactory()
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.mark.django_db
def test_admin_ban_action_deactivates_the_selected_users(admin_site_client, django_capture_on_commit_callbacks):
    targets = UserFactory.create_batch(2)
    bystander = UserFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_site_client.post(
            "/admin/core/user/",
            {"action": "ban_users", "_selected_action": [str(u.pk) for u in targets]},
        )

    assert response.status_code == 302
    assert set(User.objects.filter(is_active=False).values_list("pk", flat=True)) == {u.pk for u in targets}
    assert User.objects.get(pk=bystander.pk).is_active
    assert len(callbacks) == 2  # one socket close per banned user


@pytest.mark.django_db
def test_admin_ban_action_skips_the_acting_admin(admin_site_client):
    response = admin_site_client.post(
        "/admin/core/user/", {"action": "ban_users", "_selected_action": [str(admin_site_client.admin.pk)]}, follow=True
    )

    assert response.status_code == 200
    assert User.objects.get(pk=admin_site_client.admin.pk).is_active is True
    assert "cannot deactivate your own account" in response.content.decode()


@pytest.mark.django_db
def test_admin_user_pages_render(admin_site_client):
    user = UserFactory(roles=["vendor", "buyer"])
    AddressFactory(user=user)

    assert admin_site_client.get("/admin/core/user/").status_code == 200
    assert admin_site_client.get("/admin/core/user/?role=vendor&q=example").status_code == 200
    assert admin_site_client.get(f"/admin/core/user/{user.pk}/change/").status_code == 200
    assert admin_site_client.get("/admin/core/user/add/").status_code == 200
    assert admin_site_client.get("/admin/core/address/").status_code == 200


@pytest.mark.django_db
def test_admin_add_user_form_creates_a_user_with_email_and_roles(admin_site_client):
    response = admin_site_client.post(
        "/admin/core/user/add/",
        {
            "email": "New.Vendor@Example.com",
            "display_name": "Shop",
            "roles": ["vendor", "buyer"],
            "usable_password": "true",
            "password1": "horse-battery-9",
            "password2": "horse-battery-9",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.vendor@example.com")
    assert user.roles == ["buyer", "vendor"]
    assert user.check_password("horse-battery-9")


@pytest.mark.django_db
def test_admin_add_user_form_refuses_an_email_taken_in_another_case(admin_site_client):
    UserFactory(email="dup@example.com")

    response = admin_site_client.post(
        "/admin/core/user/add/",
        {"email": "DUP@example.com", "usable_password": "true", "password1": "horse-battery-9", "password2": "horse-battery-9"},
    )

    assert response.status_code == 200  # the form is shown again with the error
    assert User.objects.filter(email__iexact="dup@example.com").count() == 1


@pytest.mark.django_db
def test_admin_change_form_edits_roles(admin_site_client):
    user = UserFactory()
    page = admin_site_client.get(f"/admin/core/user/{user.pk}/change/")
    assert page.status_code == 200

    response = admin_site_client.post(
        f"/admin/core/user/{user.pk}/change/",
        {
            "email": user.email,
            "display_name": "Courier Carl",
            "phone": "",
            "roles": ["courier"],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.roles == ["courier"] and user.display_name == "Courier Carl"
    assert user.is_active is True
