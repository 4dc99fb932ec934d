"""Admin pages, demo data, the OpenAPI schema and the user: topic snapshot."""

import io

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from core.models import User
from realtime.user_topic import UserTopic
from notifications import demo, selectors
from notifications.models import Notification, NotificationCounter, NotificationDelivery
from tests.factories.core import AdminFactory, UserFactory
from tests.factories.notifications import notify_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(AdminFactory())
    return client


def test_admin_lists_and_shows_notifications_and_deliveries(staff_client):
    user = UserFactory()
    n = notify_one(user)
    delivery = NotificationDelivery.objects.get(notification=n)
    for url in [
        "/admin/notifications/notification/",
        f"/admin/notifications/notification/{n.pk}/change/",
        "/admin/notifications/notification/?kind=order.status_changed&read_at__isempty=1",
        "/admin/notifications/notificationdelivery/",
        f"/admin/notifications/notificationdelivery/{delivery.pk}/change/",
        "/admin/notifications/emaildigest/",
        "/admin/notifications/notificationcounter/",
        "/admin/notifications/notificationpreference/",
        "/admin/notifications/notificationsettings/",
    ]:
        assert staff_client.get(url).status_code == 200, url
    assert staff_client.get("/admin/notifications/notification/add/").status_code == 403


def test_admin_delete_recounts_the_recipient(staff_client):
    user = UserFactory()
    n = notify_one(user)
    notify_one(user)
    r = staff_client.post(
        "/admin/notifications/notification/",
        {"action": "delete_selected", "_selected_action": [str(n.pk)], "post": "yes"},
    )
    assert r.status_code == 302
    assert selectors.counts(user=user) == {"unread": 1, "unseen": 1} == selectors.true_counts(user_id=user.pk)


def test_demo_seed_creates_a_few_notifications_once():
    buyer = User.objects.create_user("buyer1@demo.market", "demo12345")
    out = io.StringIO()
    created = demo.seed(stdout=out)
    assert created >= 3
    assert "buyer1@demo.market" in out.getvalue()
    assert demo.seed() == 0
    assert Notification.objects.filter(recipient=buyer).count() == created
    assert selectors.counts(user=buyer) == selectors.true_counts(user_id=buyer.pk)
    assert selectors.counts(user=buyer)["unread"] == created - 1
    assert not NotificationDelivery.objects.exists()  # demo data sends no mail


def test_demo_seed_without_the_buyer_does_nothing():
    out = io.StringIO()
    assert demo.seed(stdout=out) == 0
    assert "skipped" in out.getvalue()


def test_user_topic_snapshot_carries_the_counts():
    user = UserFactory()
    notify_one(user)
    snapshot = UserTopic().snapshot(user=user, key=str(user.pk))
    assert snapshot["notifications"] == {"unread": 1, "unseen": 1}
    NotificationCounter.objects.all().delete()
    assert UserTopic().snapshot(user=user, key=str(user.pk))["notifications"] == {"unread": 0, "unseen": 0}


def test_openapi_schema_has_every_endpoint_without_warnings_from_notifications():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    expected = {
        "/api/v1/notifications/": {"get"},
        "/api/v1/notifications/counts/": {"get"},
        "/api/v1/notifications/read-all/": {"post"},
        "/api/v1/notifications/seen/": {"post"},
        "/api/v1/notifications/preferences/": {"get", "patch"},
        "/api/v1/notifications/{id}/": {"get"},
        "/api/v1/notifications/{id}/read/": {"post"},
        "/api/v1/notifications/{id}/unread/": {"post"},
        "/api/v1/notifications/{id}/archive/": {"post"},
        "/api/v1/notifications/{id}/unarchive/": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    params = {p["name"] for p in paths["/api/v1/notifications/"]["get"]["parameters"]}
    assert {"unread", "archived", "kind", "cursor", "page_size"} <= params
    problems = [m for m in list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache) if "notifications" in m]
    assert problems == []


def test_seed_demo_command_gives_the_demo_buyer_notifications(debug_on):
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    buyer = User.objects.get(email="buyer1@demo.market")
    titles = [n["title"] for n in demo.DEMO_NOTIFICATIONS]
    assert Notification.objects.filter(recipient=buyer, title__in=titles).count() == len(titles)
    total = Notification.objects.filter(recipient=buyer).count()  # plus those of the demo order and delivery
    call_command("seed_demo", stdout=io.StringIO())
    assert Notification.objects.filter(recipient=buyer, title__in=titles).count() == len(titles)
    assert Notification.objects.filter(recipient=buyer).count() == total  # a second seed adds nothing
