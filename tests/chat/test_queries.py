"""The socket path does a constant number of queries per message, whatever the history length
and the number of vendor staff: the gateway's command run on a subscribed topic (the ``send``
handler; ``authorize`` ran once, at subscribe) plus everything that runs after commit (outbox
delivery, offline-notification check).

Before issue 16 a send over the socket ran the topic's ``authorize`` per command, a lookup of the
``client_msg_id`` before the INSERT and the outbox relay's own transaction (4 statements, a second
commit); 11 statements with one commit per command, the test's savepoint and release included;
now 9: the recipients' unread totals are a counter row each (``ChatUserLock.total_unread``, one
UPDATE) instead of a SUM over every conversation of theirs (``tests/chat/test_unread_counter.py``),
the read states' UPDATE returns their previous counts (no SELECT before it) and the
conversation's lock reads the vendor's staff (no query for the participants)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from realtime.registry import get_topic
from tests.factories.chat import ConversationFactory, send_many

pytestmark = pytest.mark.django_db

#: statements of one send (savepoint and release of the test's transaction included)
MAX_SEND = 9


def socket_send(conversation, user, text: str, capture_callbacks) -> int:
    """Queries of one ``send`` command as the gateway runs it (see ``GatewayConsumer.op_command``)."""
    topic = get_topic("chat")
    fn, _bucket = topic.commands["send"]
    key = str(conversation.pk)
    with CaptureQueriesContext(connection) as ctx, capture_callbacks(execute=True):
        reply = fn(user=user, key=key, data={"text": text, "client_msg_id": text})
    assert reply["created"] is True
    return len(ctx.captured_queries)


def test_send_command_queries_do_not_grow_with_history_or_staff(settings, django_capture_on_commit_callbacks):
    settings.CHAT_SEND_RATE_LIMITS = []
    small = ConversationFactory(staff=0)
    big = ConversationFactory(staff=5)
    counts = {}
    for name, conv in (("small", small), ("big", big)):
        # message 1 may notify the (offline) recipients; later ones are coalesced
        socket_send(conv, conv.buyer, f"{name}-first", django_capture_on_commit_callbacks)
        counts[(name, 2)] = socket_send(conv, conv.buyer, f"{name}-2", django_capture_on_commit_callbacks)
        counts[(name, 10)] = [socket_send(conv, conv.vendor.owner, f"{name}-v{i}", django_capture_on_commit_callbacks)
                              for i in range(8)][-1]
        with django_capture_on_commit_callbacks(execute=True):
            send_many(conv, conv.buyer, 40, prefix=f"{name}-h")
        counts[(name, 50)] = socket_send(conv, conv.buyer, f"{name}-70", django_capture_on_commit_callbacks)
    assert len(set(counts.values())) == 1, counts
    assert counts[("small", 2)] <= MAX_SEND, counts
