"""Gapless sequence numbers, idempotent retries and history by anchors.

A thread row carries ``last_seq`` (0 while empty) and ``last_message_at``; its messages carry
``seq`` 1, 2, 3… unique per thread (a database constraint of the app's model). :func:`append`
gives the next seq; the caller holds the thread row's lock (``select_for_update``) for the
whole transaction, so two senders never get one seq and no seq is skipped (messages are never
removed, only marked). A message sent with a ``client_msg_id`` is found again by
:func:`sent_before`, so a retried send returns the stored message instead of a second one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone


def append(*, thread: Model, model: type[Model], thread_field: str, link_last: bool = False, **fields: Any) -> Model:
    """Create a ``model`` message of ``thread`` with the next seq and move the thread's
    ``last_seq`` and ``last_message_at`` (and ``last_message`` with ``link_last``). Call it with
    the thread row locked. ``fields`` are the message's other fields (``created_at`` defaults to
    now). Updates ``thread`` in memory too. Two queries."""
    now = fields.pop("created_at", None) or timezone.now()
    seq = thread.last_seq + 1
    message = model.objects.create(**{thread_field: thread}, seq=seq, created_at=now, **fields)
    updates: dict[str, Any] = {"last_seq": seq, "last_message_at": now}
    if link_last:
        updates["last_message"] = message
    type(thread).objects.filter(pk=thread.pk).update(**updates)
    for name, value in updates.items():
        setattr(thread, name, value)
    return message


def sent_before(*, queryset: QuerySet, thread_field: str, thread_id: Any, sender_id: Any, client_msg_id: str) -> Model | None:
    """The message ``sender_id`` already sent with ``client_msg_id`` in the thread (a retry), or
    None (always None without a client message id). ``queryset``: the app's messages, with
    whatever ``select_related`` its shape needs."""
    if not client_msg_id:
        return None
    return queryset.filter(**{f"{thread_field}_id": thread_id}, sender_id=sender_id, client_msg_id=client_msg_id).first()


def history(*, queryset: QuerySet, last_seq: int, before: int | None = None, after: int | None = None,
            limit: int = 50) -> tuple[list[Model], bool, bool]:
    """A page of a thread's messages (``queryset``: that thread's messages) in ascending seq,
    anchored like Zulip:

    * ``before=N``: the ``limit`` newest with ``seq < N``;
    * ``after=N``: the ``limit`` oldest with ``seq > N``;
    * neither: the ``limit`` newest.

    Returns ``(rows, has_more_before, has_more_after)``. Paging with ``before=<first seq>`` (or
    ``after=<last seq>``) never skips or repeats a message: seqs are contiguous. One query."""
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[:limit])
    else:
        if before is not None:
            queryset = queryset.filter(seq__lt=before)
        rows = list(queryset.order_by("-seq")[:limit])
        rows.reverse()
    if rows:
        return rows, rows[0].seq > 1, rows[-1].seq < last_seq
    if after is not None:  # nothing after the anchor
        return rows, min(after, last_seq) >= 1, False
    if before is not None:  # nothing before the anchor (before <= 1)
        return rows, False, last_seq >= max(before, 1)
    return rows, False, False


def furthest_read(states: Any, sides: Any) -> dict[str, int]:
    """``{side: the furthest last_read_seq of its readers}`` from ``(side, last_read_seq)`` pairs
    (0 for a side nobody of which has read): what "seen" ticks show to the other side."""
    up_to = {str(side): 0 for side in sides}
    for side, seq in states:
        up_to[str(side)] = max(up_to.get(str(side), 0), seq)
    return up_to
