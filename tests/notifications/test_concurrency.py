"""Counts stay right under concurrency: many transactions notifying and reading one user at once.

Each thread has its own PostgreSQL connection and commits for real (transactional_db), so the
per-user counter lock and the outbox order are what is tested. The kinds used have no email by
default: Celery's eager mode is not thread-safe (its "inside a task" flag is a process global).
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from notifications import selectors, services
from realtime import outbox
from realtime.models import OutboxEvent
from tests.factories.core import UserFactory
from tests.factories.notifications import notify_one

pytestmark = pytest.mark.django_db(transaction=True)

IN_APP_ONLY = "auction.ending_soon"


def in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connection.close()

    return run


def counts_events(user) -> list[dict]:
    """``notification.counts`` data in outbox order (= publish order) of ``user:<id>``."""
    return list(
        OutboxEvent.objects.filter(topic=f"user:{user.pk}", type="notification.counts").order_by("id").values_list("data", flat=True)
    )


def test_100_concurrent_notifies_end_with_correct_counts_in_publish_order():
    user = UserFactory()
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(in_thread(lambda i: notify_one(user, kind=IN_APP_ONLY, title=f"n{i}")), range(100)))
    truth = selectors.true_counts(user_id=user.pk)
    assert truth == {"unread": 100, "unseen": 100}
    assert selectors.counts(user=user) == truth
    events = counts_events(user)
    assert [e["unread"] for e in events] == list(range(1, 101))  # serialised: each commit sees the previous
    assert events[-1] == truth
    # delivered on commit with seq in the same order (rows are marked published in batches)
    outbox.mark_delivered()
    seqs = list(OutboxEvent.objects.filter(topic=f"user:{user.pk}").order_by("id").values_list("seq", flat=True))
    assert None not in seqs and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_concurrent_reads_and_notifies_keep_counter_equal_to_truth():
    user = UserFactory()
    existing = [notify_one(user, kind=IN_APP_ONLY, title=f"old{i}") for i in range(40)]

    def work(i):
        if i % 2:
            services.mark_read(user=user, notification_id=existing[i // 2].pk)
        elif i % 10 == 0:
            services.mark_all_read(user=user)
        else:
            notify_one(user, kind=IN_APP_ONLY, title=f"new{i}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(in_thread(work), range(80)))
    truth = selectors.true_counts(user_id=user.pk)
    assert selectors.counts(user=user) == truth
    assert counts_events(user)[-1] == truth


def test_concurrent_bulk_notifies_to_overlapping_recipients_do_not_deadlock():
    import random

    users = [UserFactory() for _ in range(30)]

    def bulk(i):
        recipients = random.Random(i).sample(users, len(users))  # each call lists them in another order
        services.notify(recipients=recipients, kind="auction.ending_soon", title=f"bulk {i}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(in_thread(bulk), range(12)))
    for user in users:
        assert selectors.counts(user=user) == selectors.true_counts(user_id=user.pk) == {"unread": 12, "unseen": 12}
        assert counts_events(user)[-1] == {"unread": 12, "unseen": 12}
