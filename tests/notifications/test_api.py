"""The REST API: inbox listing, state changes, counts, access, preferences."""

import pytest
from django.utils import timezone

from notifications import selectors, services
from notifications.models import Notification, NotificationPreference, NotificationSettings
from realtime.models import OutboxEvent
from tests.conftest import client_for
from tests.factories.core import UserFactory
from tests.factories.notifications import notify_one
from tests.notifications.conftest import last_counts, user_events

pytestmark = pytest.mark.django_db

BASE = "/api/v1/notifications/"


def assert_counts_consistent(user) -> dict:
    """Counter row == rows' truth == last published counts; returns them."""
    truth = selectors.true_counts(user_id=user.pk)
    assert selectors.counts(user=user) == truth
    assert last_counts(user) == truth
    return truth


# --- listing -----------------------------------------------------------------------------------

def test_list_is_newest_first_with_cursor_pagination():
    user = UserFactory()
    made = [notify_one(user, title=f"n{i}") for i in range(25)]
    client = client_for(user)
    seen, url, pages = [], BASE + "?page_size=10", 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.data
        assert set(r.data) == {"next", "previous", "results"}
        seen += [item["title"] for item in r.data["results"]]
        url, pages = r.data["next"], pages + 1
    assert pages == 3
    assert seen == [n.title for n in reversed(made)]


def test_list_item_shape():
    user = UserFactory()
    n = notify_one(user, kind="auction.won", title="You won", body="Pay now.", data={"auction_id": "x"})
    item = client_for(user).get(BASE).data["results"][0]
    assert item == {
        "id": str(n.id), "kind": "auction.won", "title": "You won", "body": "Pay now.", "data": {"auction_id": "x"},
        "target": None, "critical": False, "created_at": item["created_at"], "seen_at": None, "read_at": None,
        "archived_at": None,
    }


def test_list_filters_unread_archived_and_kind():
    user = UserFactory()
    a = notify_one(user, kind="auction.outbid", title="a")
    b = notify_one(user, kind="auction.won", title="b")
    c = notify_one(user, kind="chat.message", title="c")
    d = notify_one(user, kind="chat.message", title="d")
    services.mark_read(user=user, notification_id=b.pk)
    services.archive(user=user, notification_id=d.pk)
    client = client_for(user)

    def titles(query: str) -> set[str]:
        r = client.get(BASE + query)
        assert r.status_code == 200, r.data
        return {i["title"] for i in r.data["results"]}

    assert titles("") == {"a", "b", "c"}  # archived ones are out of the inbox
    assert titles("?unread=true") == {"a", "c"}
    assert titles("?unread=false") == {"b"}
    assert titles("?archived=true") == {"d"}
    assert titles("?kind=chat.message") == {"c"}
    assert titles("?kind=auction.outbid,auction.won") == {"a", "b"}
    assert titles("?kind=auction.outbid&kind=auction.won") == {"a", "b"}
    assert titles("?kind=auction.outbid&unread=true") == {"a"}
    assert titles("?kind=no.such") == set()
    assert a and c


def test_bad_filter_value_is_400():
    user = UserFactory()
    r = client_for(user).get(BASE + "?unread=perhaps")
    assert r.status_code == 400
    assert r.data["code"] == "invalid" and "unread" in r.data["fields"]


def test_anonymous_is_401():
    from rest_framework.test import APIClient

    for method, url in [("get", BASE), ("get", BASE + "counts/"), ("post", BASE + "read-all/"), ("get", BASE + "preferences/")]:
        assert getattr(APIClient(), method)(url).status_code == 401


# --- another user's notification -------------------------------------------------------------

@pytest.mark.parametrize("action", ["", "read/", "unread/", "archive/", "unarchive/"])
def test_another_users_notification_is_404_and_nothing_changes(action):
    owner, intruder = UserFactory(), UserFactory()
    n = notify_one(owner)
    if action == "unread/":
        services.mark_read(user=owner, notification_id=n.pk)
    if action == "unarchive/":
        services.archive(user=owner, notification_id=n.pk)
    before = Notification.objects.filter(pk=n.pk).values().get()
    events_before = OutboxEvent.objects.count()
    client = client_for(intruder)
    r = client.post(BASE + f"{n.pk}/{action}") if action else client.get(BASE + f"{n.pk}/")
    assert r.status_code == 404
    assert r.data["code"] == "not_found"
    assert Notification.objects.filter(pk=n.pk).values().get() == before
    assert OutboxEvent.objects.count() == events_before
    assert user_events(intruder) == []


def test_another_users_notifications_are_invisible_in_list_and_counts():
    owner, other = UserFactory(), UserFactory()
    notify_one(owner)
    client = client_for(other)
    assert client.get(BASE).data["results"] == []
    assert client.get(BASE + "counts/").data == {"unread": 0, "unseen": 0}
    r = client.post(BASE + "read-all/")
    assert r.data == {"updated": 0, "counts": {"unread": 0, "unseen": 0}}
    assert selectors.counts(user=owner) == {"unread": 1, "unseen": 1}


def test_unknown_id_is_404():
    user = UserFactory()
    r = client_for(user).post(BASE + "00000000-0000-0000-0000-000000000000/read/")
    assert r.status_code == 404 and r.data["code"] == "not_found"


# --- state changes and counts ------------------------------------------------------------------

def test_read_unread_archive_unarchive_update_counts_and_publish():
    user = UserFactory()
    n1, n2 = notify_one(user), notify_one(user)
    client = client_for(user)
    assert client.get(BASE + "counts/").data == {"unread": 2, "unseen": 2}

    r = client.post(BASE + f"{n1.pk}/read/")
    assert r.status_code == 200
    assert r.data["read_at"] and r.data["seen_at"]
    assert client.get(BASE + "counts/").data == {"unread": 1, "unseen": 1}
    assert user_events(user)[-2:] == [
        ("notification.updated", {"id": str(n1.pk), "read_at": user_events(user)[-2][1]["read_at"],
                                  "seen_at": user_events(user)[-2][1]["seen_at"], "archived_at": None}),
        ("notification.counts", {"unread": 1, "unseen": 1}),
    ]

    # idempotent: reading again changes nothing and publishes nothing
    n_events = len(user_events(user))
    assert client.post(BASE + f"{n1.pk}/read/").status_code == 200
    assert len(user_events(user)) == n_events

    r = client.post(BASE + f"{n1.pk}/unread/")
    assert r.data["read_at"] is None and r.data["seen_at"]  # stays seen
    assert assert_counts_consistent(user) == {"unread": 2, "unseen": 1}

    client.post(BASE + f"{n2.pk}/archive/")
    assert assert_counts_consistent(user) == {"unread": 1, "unseen": 0}
    client.post(BASE + f"{n2.pk}/unarchive/")
    assert assert_counts_consistent(user) == {"unread": 2, "unseen": 1}

    client.post(BASE + f"{n1.pk}/archive/")
    assert client.get(BASE + f"{n1.pk}/").data["archived_at"]
    assert assert_counts_consistent(user) == {"unread": 1, "unseen": 1}


def test_read_all_reads_the_inbox_but_not_archived_and_publishes_counts():
    user = UserFactory()
    a, b, c = notify_one(user), notify_one(user), notify_one(user)
    services.archive(user=user, notification_id=c.pk)
    r = client_for(user).post(BASE + "read-all/")
    assert r.status_code == 200
    assert r.data == {"updated": 2, "counts": {"unread": 0, "unseen": 0}}
    assert Notification.objects.get(pk=c.pk).read_at is None
    assert all(Notification.objects.get(pk=x.pk).read_at for x in (a, b))
    types = [t for t, _ in user_events(user)]
    assert types[-2:] == ["notification.read_all", "notification.counts"]
    assert user_events(user, "notification.read_all")[-1][1]["count"] == 2
    assert assert_counts_consistent(user) == {"unread": 0, "unseen": 0}


def test_seen_clears_unseen_but_not_unread():
    user = UserFactory()
    notify_one(user), notify_one(user)
    r = client_for(user).post(BASE + "seen/")
    assert r.status_code == 200
    assert r.data == {"updated": 2, "counts": {"unread": 2, "unseen": 0}}
    assert assert_counts_consistent(user) == {"unread": 2, "unseen": 0}
    n = notify_one(user)
    assert last_counts(user) == {"unread": 3, "unseen": 1}
    assert n.seen_at is None


def test_read_all_repairs_a_drifted_counter():
    user = UserFactory()
    notify_one(user)
    from notifications.models import NotificationCounter

    NotificationCounter.objects.filter(user=user).update(unread=7, unseen=9)
    client_for(user).post(BASE + "read-all/")
    assert selectors.counts(user=user) == {"unread": 0, "unseen": 0}


# --- preferences -------------------------------------------------------------------------------

def prefs_by_kind(data) -> dict:
    return {k["kind"]: k for k in data["kinds"]}


def test_preferences_have_sensible_defaults():
    user = UserFactory()
    r = client_for(user).get(BASE + "preferences/")
    assert r.status_code == 200
    assert r.data["email_digest"] is False
    kinds = prefs_by_kind(r.data)
    assert kinds["order.status_changed"]["channels"] == {"in_app": True, "email": True}
    assert kinds["chat.message"]["channels"] == {"in_app": True, "email": False}
    assert kinds["account.security"]["critical"] is True
    assert kinds["account.security"]["channels"] == {"in_app": True, "email": True}
    assert kinds["auction.outbid"]["description"]


def test_patch_preferences_and_digest():
    user = UserFactory()
    client = client_for(user)
    r = client.patch(
        BASE + "preferences/",
        {"email_digest": True, "channels": {"auction.outbid": {"email": False}, "chat.message": {"email": True}}},
        format="json",
    )
    assert r.status_code == 200, r.data
    assert r.data["email_digest"] is True
    kinds = prefs_by_kind(r.data)
    assert kinds["auction.outbid"]["channels"] == {"in_app": True, "email": False}
    assert kinds["chat.message"]["channels"] == {"in_app": True, "email": True}
    assert NotificationSettings.objects.get(user=user).email_digest is True
    assert client.get(BASE + "preferences/").data == r.data
    # switching back on, and leaving others as they are
    r = client.patch(BASE + "preferences/", {"channels": {"auction.outbid": {"email": True}}}, format="json")
    assert prefs_by_kind(r.data)["auction.outbid"]["channels"]["email"] is True
    assert prefs_by_kind(r.data)["chat.message"]["channels"]["email"] is True
    assert r.data["email_digest"] is True


@pytest.mark.parametrize("kind", ["account.security", "payment.succeeded", "payment.failed"])
@pytest.mark.parametrize("channel", ["in_app", "email"])
def test_critical_kinds_cannot_be_switched_off(kind, channel):
    user = UserFactory()
    client = client_for(user)
    r = client.patch(
        BASE + "preferences/",
        {"channels": {"auction.outbid": {"email": False}, kind: {channel: False}}},
        format="json",
    )
    assert r.status_code == 400
    assert r.data["code"] == "critical_kind"
    assert kind in r.data["fields"]["channels"]
    assert not NotificationPreference.objects.filter(user=user).exists()  # all or nothing
    assert prefs_by_kind(client.get(BASE + "preferences/").data)[kind]["channels"][channel] is True


def test_critical_kind_switched_on_is_accepted():
    user = UserFactory()
    r = client_for(user).patch(BASE + "preferences/", {"channels": {"account.security": {"email": True}}}, format="json")
    assert r.status_code == 200


@pytest.mark.parametrize(
    "body, code",
    [
        ({"channels": {"no.such_kind": {"email": False}}}, "unknown_kind"),
        ({"channels": {"auction.outbid": {"sms": False}}}, "unknown_channel"),
        ({"channels": {"auction.outbid": {"email": "maybe"}}}, "invalid"),
        ({"channels": {"auction.outbid": "off"}}, "invalid"),
        ({"email_digest": "sometimes"}, "invalid"),
    ],
)
def test_bad_preferences_are_400_with_a_code(body, code):
    user = UserFactory()
    r = client_for(user).patch(BASE + "preferences/", body, format="json")
    assert r.status_code == 400, r.data
    assert r.data["code"] == code
    assert r.data["fields"]
    assert not NotificationPreference.objects.filter(user=user).exists()


def test_preferences_of_one_user_do_not_touch_another():
    alice, bob = UserFactory(), UserFactory()
    client_for(alice).patch(BASE + "preferences/", {"channels": {"auction.outbid": {"email": False}}}, format="json")
    assert prefs_by_kind(client_for(bob).get(BASE + "preferences/").data)["auction.outbid"]["channels"]["email"] is True


def test_timestamps_are_recent():
    user = UserFactory()
    n = notify_one(user)
    r = client_for(user).post(BASE + f"{n.pk}/read/")
    read_at = Notification.objects.get(pk=n.pk).read_at
    assert abs((timezone.now() - read_at).total_seconds()) < 10
    assert r.data["read_at"]
