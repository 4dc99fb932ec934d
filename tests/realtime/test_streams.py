"""Per-topic sequence numbers and history retention in Redis Streams (realtime.streams)."""

import uuid

import pytest

from realtime import streams


@pytest.fixture
def topic():
    return f"user:{uuid.uuid4()}"


def append_n(topic: str, n: int) -> list[streams.Appended]:
    return [streams.append(topic=topic, type="t", data_json="{}", event_id=str(uuid.uuid4())) for _ in range(n)]


def history_len(topic: str) -> int:
    return streams.sync_client().xlen(streams.stream_key(topic))


def test_seq_increases_by_exactly_one_per_event(topic):
    assert [a.seq for a in append_n(topic, 5)] == [1, 2, 3, 4, 5]


def test_same_event_id_gets_its_first_seq_back(topic):
    event_id = str(uuid.uuid4())
    first = streams.append(topic=topic, type="t", data_json="{}", event_id=event_id)
    append_n(topic, 2)
    again = streams.append(topic=topic, type="t", data_json="{}", event_id=event_id)
    assert (again.seq, again.new, again.ts_ms) == (first.seq, False, first.ts_ms)
    assert history_len(topic) == 3


def test_recent_history_is_kept_beyond_the_event_minimum(topic, settings):
    """Within the time window nothing is trimmed, even far past HISTORY_MIN_EVENTS."""
    settings.REALTIME = {**settings.REALTIME, "HISTORY_MIN_EVENTS": 10, "HISTORY_MIN_SECONDS": 120}
    append_n(topic, 400)
    assert history_len(topic) == 400


def test_old_history_is_trimmed_but_never_below_the_event_minimum(topic, settings):
    settings.REALTIME = {**settings.REALTIME, "HISTORY_MIN_EVENTS": 30, "HISTORY_MIN_SECONDS": 0}
    append_n(topic, 400)
    length = history_len(topic)
    assert 30 <= length < 30 + streams.TRIM_EVERY  # lazy trim: every 50th append
    first_id = streams.sync_client().xrange(streams.stream_key(topic), count=1)[0][0]
    assert int(first_id.split(b"-")[0]) == 400 - length + 1  # what is kept is the newest, contiguous


def test_default_retention_keeps_at_least_300_events(topic):
    append_n(topic, 350)
    assert history_len(topic) == 350  # all recent: the 2-minute rule keeps them


async def test_since_reports_incomplete_when_history_does_not_reach_back(topic, settings):
    settings.REALTIME = {**settings.REALTIME, "HISTORY_MIN_EVENTS": 30, "HISTORY_MIN_SECONDS": 0}
    append_n(topic, 100)
    history = streams.AsyncHistory()
    frames, last, complete = await history.since(topic, 1)
    assert (frames, last, complete) == ([], 100, False)
    frames, last, complete = await history.since(topic, 95)
    assert complete and [int(f.split('"seq":')[1].split(",")[0]) for f in frames] == [96, 97, 98, 99, 100]
