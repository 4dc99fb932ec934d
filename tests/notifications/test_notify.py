"""``notify``: rows in the caller's transaction, events after commit, preferences, bulk cost."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import User
from notifications import selectors, services
from notifications.models import (
    Notification,
    NotificationCounter,
    NotificationDelivery,
    NotificationPreference,
    NotificationSettings,
)
from notifications.payloads import notification_dict
from realtime.jsonutil import to_jsonable
from realtime.models import OutboxEvent
from tests.factories.core import AddressFactory, UserFactory
from tests.factories.notifications import notify_one
from tests.notifications.conftest import last_counts, user_events

pytestmark = pytest.mark.django_db


def test_notify_stores_a_row_per_recipient_and_queues_created_then_counts():
    alice, bob = UserFactory(), UserFactory()
    rows = services.notify(
        recipients=[alice, bob.pk], kind="auction.outbid", title="You were outbid", body="Bid again.",
        data={"auction_id": "a1", "price": Decimal("12.50")},
    )
    assert [n.recipient_id for n in rows] == [alice.pk, bob.pk]
    n = Notification.objects.get(recipient=alice)
    assert (n.kind, n.title, n.body, n.critical, n.in_app) == ("auction.outbid", "You were outbid", "Bid again.", False, True)
    assert n.data == {"auction_id": "a1", "price": "12.50"}
    assert n.seen_at is None and n.read_at is None and n.archived_at is None

    events = user_events(alice)
    assert [t for t, _ in events] == ["notification.created", "notification.counts"]
    assert events[0][1] == to_jsonable(notification_dict(n))
    assert events[1][1] == {"unread": 1, "unseen": 1}

    notify_one(alice)
    assert last_counts(alice) == {"unread": 2, "unseen": 2}
    assert selectors.counts(user=alice) == {"unread": 2, "unseen": 2} == selectors.true_counts(user_id=alice.pk)
    assert last_counts(bob) == {"unread": 1, "unseen": 1}


def test_a_rollback_of_the_callers_transaction_stores_and_publishes_nothing():
    user = UserFactory()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with transaction.atomic():
            notify_one(user)
            raise Boom
    assert not Notification.objects.exists()
    assert not OutboxEvent.objects.filter(topic=f"user:{user.pk}").exists()
    assert not NotificationDelivery.objects.exists()


def test_target_is_stored_and_shown_as_type_and_id():
    user = UserFactory()
    address = AddressFactory(user=user)
    n = notify_one(user, target=address)
    n.refresh_from_db()
    assert n.target == address
    assert notification_dict(n)["target"] == {"type": "core.address", "id": str(address.pk)}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"body": None}, "body"),
        ({"data": ["not", "a", "mapping"]}, "data"),
        ({"data": {"x": object()}}, "JSON"),
        ({"target": User()}, "target"),
        ({"recipients": ["not-a-uuid"]}, "not a user"),
        ({"recipients": "a-string"}, "iterable"),
    ],
)
def test_bad_arguments_raise_value_error_at_the_call(kwargs, message):
    user = UserFactory()
    call = {"recipients": [user], "kind": "order.status_changed", "title": "T", "body": "", **kwargs}
    with pytest.raises(ValueError, match=message):
        services.notify(**call)
    assert not Notification.objects.exists()


def test_duplicate_recipients_get_one_notification():
    user = UserFactory()
    rows = services.notify(recipients=[user, user.pk, str(user.pk)], kind="order.status_changed", title="T")
    assert len(rows) == 1
    assert selectors.counts(user=user) == {"unread": 1, "unseen": 1}


def test_no_recipients_is_a_no_op():
    assert services.notify(recipients=[], kind="order.status_changed", title="T") == []


def test_in_app_switched_off_keeps_an_email_only_row_out_of_inbox_counts_and_socket():
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind="auction.outbid", channel="in_app", enabled=False)
    n = notify_one(user, kind="auction.outbid")
    assert n.in_app is False
    assert not selectors.notification_list(user=user).exists()
    assert selectors.counts(user=user) == {"unread": 0, "unseen": 0}
    assert user_events(user) == []
    assert NotificationDelivery.objects.get(notification=n).status == "pending"


def test_both_channels_off_stores_nothing():
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind="auction.outbid", channel="in_app", enabled=False)
    NotificationPreference.objects.create(user=user, kind="auction.outbid", channel="email", enabled=False)
    assert services.notify(recipients=[user], kind="auction.outbid", title="T") == []
    assert not Notification.objects.exists()


def test_critical_kind_ignores_stored_off_preferences():
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind="account.security", channel="in_app", enabled=False)
    NotificationPreference.objects.create(user=user, kind="account.security", channel="email", enabled=False)
    n = notify_one(user, kind="account.security", title="Password changed")
    assert n.in_app and n.critical
    assert NotificationDelivery.objects.filter(notification=n, channel="email").exists()


def test_email_is_queued_only_for_kinds_whose_email_is_on():
    user = UserFactory()
    on = notify_one(user, kind="order.status_changed")
    off = notify_one(user, kind="chat.message")  # email off by default
    assert NotificationDelivery.objects.filter(notification=on, channel="email", status="pending").exists()
    assert not NotificationDelivery.objects.filter(notification=off).exists()


def _bulk_users(n: int, tag: str) -> list[User]:
    users = User.objects.bulk_create(
        [User(email=f"{tag}{i}@bulk.example", roles=["buyer"], password="!") for i in range(n)]
    )
    # a realistic mix: some chose preferences, some the digest, some already have a counter
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user=u, kind="order.status_changed", channel="email", enabled=False) for u in users[::3]]
    )
    NotificationSettings.objects.bulk_create([NotificationSettings(user=u, email_digest=True) for u in users[1::3]])
    NotificationCounter.objects.bulk_create([NotificationCounter(user=u) for u in users[::2]])
    return users


def _count_notify_queries(users) -> int:
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            services.notify(recipients=users, kind="order.status_changed", title="Sale!", body="Everything -10%.")
    return len(ctx.captured_queries)


def test_bulk_notify_to_1000_users_uses_a_constant_number_of_queries():
    small = _bulk_users(3, "small")
    big = _bulk_users(1000, "big")
    _count_notify_queries(_bulk_users(1, "warm"))  # content types etc. cached
    q_small = _count_notify_queries(small)
    q_big = _count_notify_queries(big)
    assert q_big == q_small
    assert q_big <= 12, q_big
    print(f"notify queries: 3 recipients={q_small}, 1000 recipients={q_big}")
    assert Notification.objects.filter(recipient__in=big).count() == 1000
    big_topics = [f"user:{u.pk}" for u in big]
    assert OutboxEvent.objects.filter(topic__in=big_topics, type="notification.created").count() == 1000
    assert OutboxEvent.objects.filter(topic__in=big_topics, type="notification.counts").count() == 1000
    assert NotificationDelivery.objects.filter(notification__recipient__in=big).count() == 333  # email on, no digest
    sample = big[500]
    assert selectors.counts(user=sample) == {"unread": 1, "unseen": 1} == selectors.true_counts(user_id=sample.pk)
