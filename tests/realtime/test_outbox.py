"""The outbox delivers on commit with no second transaction, marks rows published in batches,
keeps per-topic order when an earlier committed event is late, and never gives an event two
seqs (``realtime.outbox``)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from realtime import outbox, streams
from realtime.models import OutboxEvent
from tests.realtime.probes import ProbeTick

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def topic() -> str:
    return f"user:{uuid.uuid4()}"


def history(topic: str) -> list[tuple[int, str]]:
    """``(seq, data JSON)`` of the topic's Redis history, in stream order."""
    return [(int(eid.split(b"-")[0]), fields[b"data"].decode())
            for eid, fields in streams.sync_client().xrange(streams.stream_key(topic))]


def test_commit_appends_the_event_without_another_query_and_the_sweep_marks_it(topic):
    with CaptureQueriesContext(connection) as ctx:
        with transaction.atomic():
            row = outbox.publish(topic=topic, event=ProbeTick.build(n=1))
    # One transaction with one INSERT: no relay transaction after the commit.
    statements = [q["sql"] for q in ctx.captured_queries]
    assert [s.split()[0] for s in statements] == ["BEGIN", "INSERT", "COMMIT"], statements
    assert history(topic) == [(1, '{"n":1}')]
    row.refresh_from_db()
    assert (row.published_at, row.seq) == (None, None)  # marked in the next batch, not per event
    assert outbox.mark_delivered() >= 1
    row.refresh_from_db()
    assert row.seq == 1 and row.published_at is not None


def test_rolled_back_transaction_appends_nothing(topic):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            outbox.publish(topic=topic, event=ProbeTick.build(n=1))
            raise RuntimeError("rolled back")
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(n=2))
        with pytest.raises(RuntimeError):
            with transaction.atomic():  # a savepoint rolled back inside a committed transaction
                outbox.publish(topic=topic, event=ProbeTick.build(n=3))
                raise RuntimeError("savepoint rolled back")
    assert history(topic) == [(1, '{"n":2}')]
    assert OutboxEvent.objects.filter(topic=topic).count() == 1


def committed_undelivered(monkeypatch, topic: str, **data) -> tuple[OutboxEvent, list]:
    """Publish and commit, but keep the delivery back (a late or dead committing thread).
    Returns the row and the held delivery calls."""
    held: list = []
    with monkeypatch.context() as m:
        m.setattr(outbox, "deliver", lambda inserted: held.append(lambda: outbox.deliver(inserted)))
        with transaction.atomic():
            row = outbox.publish(topic=topic, event=ProbeTick.build(**data))
    assert len(held) == 1
    return row, held


def test_a_late_earlier_event_is_sent_first_and_keeps_its_one_seq(topic, monkeypatch):
    # The first transaction commits, but its thread is late (or died) before delivering.
    _, late = committed_undelivered(monkeypatch, topic, n=1)
    assert history(topic) == []
    # The next writer of the topic is fenced by the pending row and sends it first.
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(n=2))
    assert history(topic) == [(1, '{"n":1}'), (2, '{"n":2}')]
    # The late thread delivers now: the same seq comes back, nothing is appended twice.
    for callback in late:
        callback()
    assert history(topic) == [(1, '{"n":1}'), (2, '{"n":2}')]
    outbox.mark_delivered()
    assert list(OutboxEvent.objects.filter(topic=topic).order_by("id").values_list("seq", flat=True)) == [1, 2]


def test_sweep_marks_delivered_rows_and_sends_what_a_crash_left(topic, monkeypatch):
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(n=1))
    lost, _ = committed_undelivered(monkeypatch, topic, n=2)  # the process died after commit
    OutboxEvent.objects.filter(pk=lost.pk).update(created_at=lost.created_at.replace(year=2000))
    assert outbox.sweep() == 1  # the lost one; the delivered one was only marked
    assert history(topic) == [(1, '{"n":1}'), (2, '{"n":2}')]
    assert not OutboxEvent.objects.filter(topic=topic, published_at__isnull=True).exists()
    assert sorted(OutboxEvent.objects.filter(topic=topic).values_list("seq", flat=True)) == [1, 2]


def test_many_events_of_many_topics_keep_their_order(topic):
    other = f"user:{uuid.uuid4()}"
    with transaction.atomic():
        outbox.publish_many([(t, ProbeTick.build(n=i)) for i in range(5) for t in (topic, other)])
    for t in (topic, other):
        assert history(t) == [(i + 1, '{"n":%d}' % i) for i in range(5)]
