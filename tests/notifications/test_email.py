"""Email through Celery (eager in tests): one per notification and channel, preferences, retries."""

import threading

import pytest
from django.db import connection

from notifications import services
from notifications.models import NotificationDelivery, NotificationPreference, NotificationSettings
from notifications.tasks import send_notification_email
from tests.factories.core import UserFactory
from tests.factories.notifications import EmailDeliveryFactory, NotificationFactory, notify_one
from tests.notifications.backends import FlakyBackend, SlowBackend


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (relay, email tasks) at the end of the block, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def worker_like():
    """Eager tasks that, like a worker, handle their own retries instead of raising them."""
    conf = send_notification_email.app.conf
    before = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = before


@pytest.mark.django_db
def test_kept_email_gets_exactly_one_email_even_when_the_task_runs_again(mailoutbox, on_commit):
    user = UserFactory(display_name="Ada")
    with on_commit():
        n = notify_one(user, kind="order.status_changed", title="Your order has shipped", body="Tracking: ABC.",
                       data={"url": "/orders/42/"})
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    assert "Your order has shipped" in mail.subject
    assert "Tracking: ABC." in mail.body and "Ada" in mail.body
    assert mail.body.rstrip().endswith("/notifications/preferences/")
    assert "/orders/42/" in mail.body
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html" and "<h1" in html and "Your order has shipped" in html
    assert mail.extra_headers["X-Notification-Id"] == str(n.pk)

    # the task delivered twice (acks_late redelivery, a duplicate enqueue): still one email
    assert send_notification_email.delay(str(n.pk)).get() == "sent"
    assert send_notification_email(str(n.pk)) == "sent"
    assert len(mailoutbox) == 1
    d = NotificationDelivery.objects.get(notification=n, channel="email")
    assert (d.status, d.attempts) == ("sent", 1) and d.sent_at


@pytest.mark.django_db
def test_email_switched_off_for_a_kind_gets_no_email(mailoutbox, on_commit):
    user = UserFactory()
    services.update_preferences(user=user, channels={"auction.outbid": {"email": False}})
    with on_commit():
        n = notify_one(user, kind="auction.outbid")
        kept = notify_one(user, kind="auction.won")
    assert [m.extra_headers["X-Notification-Id"] for m in mailoutbox] == [str(kept.pk)]
    assert not NotificationDelivery.objects.filter(notification=n).exists()
    assert send_notification_email(str(n.pk)) == "missing"
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_email_switched_off_after_queueing_is_skipped_at_send_time(mailoutbox):
    user = UserFactory()
    n = notify_one(user, kind="auction.outbid")  # queued; on_commit not run yet
    NotificationPreference.objects.create(user=user, kind="auction.outbid", channel="email", enabled=False)
    assert send_notification_email(str(n.pk)) == "skipped"
    assert mailoutbox == []
    assert NotificationDelivery.objects.get(notification=n).last_error == "email switched off for this kind"


@pytest.mark.django_db
def test_inactive_recipient_is_skipped(mailoutbox):
    user = UserFactory()
    n = notify_one(user)
    user.is_active = False
    user.save()
    assert send_notification_email(str(n.pk)) == "skipped"
    assert mailoutbox == []


@pytest.mark.django_db
def test_critical_kind_is_emailed_even_to_digest_users_and_others_wait_for_the_digest(mailoutbox, on_commit):
    user = UserFactory()
    NotificationSettings.objects.create(user=user, email_digest=True)
    with on_commit():
        notify_one(user, kind="order.status_changed")
        critical = notify_one(user, kind="payment.failed", title="Your payment failed")
    assert [m.extra_headers["X-Notification-Id"] for m in mailoutbox] == [str(critical.pk)]
    assert "whatever your preferences" in mailoutbox[0].body


@pytest.mark.django_db
def test_transport_errors_are_retried_and_recorded_then_sent_once(mailoutbox, settings, worker_like):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.calls = 2, 0
    user = UserFactory()
    n = notify_one(user)
    # eager, not propagating (as a worker): retries run at once, without the backoff wait
    result = send_notification_email.delay(str(n.pk))
    assert result.state == "SUCCESS"
    assert FlakyBackend.calls == 3
    assert len(mailoutbox) == 1
    d = NotificationDelivery.objects.get(notification=n)
    assert (d.status, d.attempts, d.last_error) == ("sent", 3, "")


@pytest.mark.django_db
def test_retries_give_up_after_max_retries_and_leave_a_failed_row(mailoutbox, settings, worker_like):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.calls = 100, 0
    user = UserFactory()
    n = notify_one(user)
    result = send_notification_email.delay(str(n.pk))
    assert result.state == "FAILURE"
    assert FlakyBackend.calls == 1 + send_notification_email.max_retries
    d = NotificationDelivery.objects.get(notification=n)
    assert d.status == "failed" and d.attempts == 6 and "SMTPServerDisconnected" in d.last_error
    assert mailoutbox == []
    FlakyBackend.failures = 0


@pytest.mark.django_db
def test_stalled_pending_emails_are_found_for_the_sweep():
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory()
    old = EmailDeliveryFactory(notification=NotificationFactory(recipient=user), created_at=timezone.now() - timedelta(hours=1))
    EmailDeliveryFactory(notification=NotificationFactory(recipient=user))  # fresh: its task is probably running
    EmailDeliveryFactory(notification=NotificationFactory(recipient=user), status="sent",
                         created_at=timezone.now() - timedelta(hours=1))
    assert services.stalled_email_ids() == [str(old.notification_id)]


def test_two_concurrent_runs_of_the_task_send_one_email(transactional_db, mailoutbox, settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.SlowBackend"
    SlowBackend.delay = 0.5
    delivery = EmailDeliveryFactory()  # committed, pending
    nid = str(delivery.notification_id)
    results, barrier = [], threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(services.deliver_email(notification_id=nid))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == ["busy", "sent"]
    assert len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
