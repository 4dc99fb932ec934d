"""The daily digest (Celery beat): only what stayed unread, once, for users who chose it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import EmailDigest, NotificationDelivery, NotificationSettings
from notifications.tasks import send_daily_digests
from tests.factories.core import UserFactory
from tests.factories.notifications import NotificationFactory, notify_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def digest_user():
    user = UserFactory(display_name="Dora")
    services.update_preferences(user=user, email_digest=True)
    return user


def test_digest_collects_only_unread_notifications(digest_user, mailoutbox, django_capture_on_commit_callbacks):
    user = digest_user
    with django_capture_on_commit_callbacks(execute=True):
        unread = notify_one(user, title="Still unread: order shipped")
        read = notify_one(user, title="Already read: auction won", kind="auction.won")
        archived = notify_one(user, title="Archived: order delivered")
        chat = notify_one(user, title="Chat: email off by default", kind="chat.message")
        services.mark_read(user=user, notification_id=read.pk)
        services.archive(user=user, notification_id=archived.pk)
    assert mailoutbox == []  # no email one by one for digest users

    other = UserFactory()  # not on the digest
    NotificationFactory(recipient=other, title="Not for a digest")

    assert send_daily_digests() == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    assert "1 unread notification" in mail.subject
    assert unread.title in mail.body and unread.title in mail.alternatives[0][0]
    for absent in (read, archived, chat):
        assert absent.title not in mail.body
    digest = EmailDigest.objects.get(user=user)
    assert digest.notification_count == 1
    assert list(NotificationDelivery.objects.filter(digest=digest).values_list("notification_id", "status")) == [
        (unread.pk, "sent")
    ]
    assert NotificationSettings.objects.get(user=user).last_digest_at == digest.sent_at


def test_digest_runs_twice_sends_once(digest_user, mailoutbox):
    notify_one(digest_user)
    send_daily_digests()
    send_daily_digests()
    assert services.send_digest(user_id=digest_user.pk) is None
    assert len(mailoutbox) == 1
    assert EmailDigest.objects.count() == 1


def test_next_days_digest_lists_only_what_came_since(digest_user, mailoutbox):
    first = notify_one(digest_user, title="Day one")
    day1 = timezone.now()
    services.send_digest(user_id=digest_user.pk, now=day1)
    second = notify_one(digest_user, title="Day two")
    second.created_at = day1 + timedelta(hours=3)
    second.save(update_fields=["created_at"])
    digest = services.send_digest(user_id=digest_user.pk, now=day1 + timedelta(days=1))
    assert digest is not None and digest.notification_count == 1
    assert len(mailoutbox) == 2
    assert "Day two" in mailoutbox[1].body and "Day one" not in mailoutbox[1].body  # first is still unread
    assert NotificationDelivery.objects.get(notification=first).digest_id != digest.pk


def test_nothing_unread_sends_no_digest(digest_user, mailoutbox):
    n = notify_one(digest_user)
    services.mark_read(user=digest_user, notification_id=n.pk)
    assert services.send_digest(user_id=digest_user.pk) is None
    assert mailoutbox == []


def test_old_unread_notifications_before_the_first_lookback_are_not_listed(digest_user, mailoutbox):
    NotificationFactory(recipient=digest_user, title="Last week", created_at=timezone.now() - timedelta(days=7))
    assert services.send_digest(user_id=digest_user.pk) is None


def test_users_without_the_digest_get_none(mailoutbox):
    user = UserFactory()
    NotificationFactory(recipient=user)
    assert send_daily_digests() == 0
    assert services.send_digest(user_id=user.pk) is None
    assert mailoutbox == []


def test_digest_transport_error_commits_nothing_so_the_retry_sends_it(digest_user, mailoutbox, settings):
    from smtplib import SMTPServerDisconnected

    from tests.notifications.backends import FlakyBackend

    settings.EMAIL_BACKEND = "tests.notifications.backends.FlakyBackend"
    FlakyBackend.failures = 1
    notify_one(digest_user)
    with pytest.raises(SMTPServerDisconnected):
        services.send_digest(user_id=digest_user.pk)
    assert not EmailDigest.objects.exists() and not NotificationDelivery.objects.filter(digest__isnull=False).exists()
    assert services.send_digest(user_id=digest_user.pk) is not None
    assert len(mailoutbox) == 1
