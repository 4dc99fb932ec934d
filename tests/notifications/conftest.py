"""Helpers of the notification tests."""

import pytest

from notifications import kinds
from realtime.models import OutboxEvent


def user_events(user, type: str | None = None) -> list[tuple[str, dict]]:
    """``(type, data)`` of the outbox events of ``user:<id>``, oldest first."""
    qs = OutboxEvent.objects.filter(topic=f"user:{user.pk}").order_by("id")
    if type:
        qs = qs.filter(type=type)
    return [(e.type, e.data) for e in qs]


def last_counts(user) -> dict | None:
    counts = [data for t, data in user_events(user, "notification.counts")]
    return counts[-1] if counts else None


@pytest.fixture(autouse=True)
def _celery_join_flag_reset():
    """Eager Celery keeps an "inside a task" flag in a process global that threads can leave set;
    make sure no test here leaves it set for the next test (``result.get()`` would then fail)."""
    from celery._state import _set_task_join_will_block

    yield
    _set_task_join_will_block(False)


@pytest.fixture
def temp_kinds():
    """Kinds registered inside a test are forgotten after it."""
    before = dict(kinds._registry)
    yield kinds
    kinds._registry.clear()
    kinds._registry.update(before)
