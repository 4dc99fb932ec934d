"""Celery tasks of notifications: one email per notification, the daily digest, and a sweep for
emails whose task was lost.

Beat schedule (``settings.CELERY_BEAT_SCHEDULE``)::

    "notifications-daily-digest": {"task": "notifications.tasks.send_daily_digests",
                                   "schedule": crontab(hour=7, minute=0)},
    "notifications-email-sweep": {"task": "notifications.tasks.requeue_stalled_emails",
                                  "schedule": 600.0},
"""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from notifications import selectors, services

RETRY = {
    "acks_late": True,
    "autoretry_for": (SMTPException, ConnectionError, OSError),
    "retry_backoff": True,  # 1 s, 2 s, 4 s… with jitter
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(bind=True, name="notifications.tasks.send_notification_email", ignore_result=True, **RETRY)
def send_notification_email(self, notification_id: str) -> str:
    """Email one notification at most once (see ``services.deliver_email``); transport errors
    are retried with exponential backoff, up to 5 times. Safe to run twice or concurrently."""
    return services.deliver_email(notification_id=notification_id)


@shared_task(bind=True, name="notifications.tasks.send_digest_email", ignore_result=True, **RETRY)
def send_digest_email(self, user_id: str) -> str | None:
    """Send one user's daily digest (see ``services.send_digest``). Idempotent per day."""
    digest = services.send_digest(user_id=user_id)
    return str(digest.pk) if digest else None


@shared_task(bind=True, name="notifications.tasks.send_address_email", ignore_result=True, **RETRY)
def send_address_email(self, parts: dict) -> None:
    """Send one message to an address (``services.email_address``: an invitation); transport
    errors are retried with exponential backoff, up to 5 times."""
    services.send_address_message(parts=parts)


@shared_task(name="notifications.tasks.send_daily_digests", ignore_result=True, acks_late=True)
def send_daily_digests() -> int:
    """Beat, daily: queue ``send_digest_email`` for every user on the digest. Returns the count."""
    user_ids = selectors.digest_user_ids()
    for uid in user_ids:
        send_digest_email.delay(str(uid))
    return len(user_ids)


@shared_task(name="notifications.tasks.requeue_stalled_emails", ignore_result=True, acks_late=True)
def requeue_stalled_emails() -> int:
    """Beat, every 10 minutes: queue again emails still pending after 10 minutes (their task was
    lost, e.g. the broker was unreachable at commit). Harmless when the first task also runs."""
    ids = services.stalled_email_ids()
    services.enqueue_emails(ids)
    return len(ids)
