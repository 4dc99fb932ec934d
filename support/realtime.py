"""The support topics.

``ticket:<ticket_id>`` — who: the ticket's requester and support agents (``support.selectors.
can_follow_ticket``); anyone else, unknown and malformed ids get ``forbidden``. Snapshot:
``{"ticket", "messages" (last 50), "has_more", "read_states", "read_up_to"}`` plus ``"notes"``
for agents (internal notes never travel on this topic: new ones arrive on ``support_queue:all``).
Presence is tracked. Commands (same services and codes as REST):

- ``send`` ``{"text", "client_msg_id"?, "attachment_id"?}`` → ``{"message", "created"}`` (bucket
  ``send``: 10 burst / 60 per minute) — ``invalid``, ``invalid_image``, ``ticket_not_open``;
- ``typing`` ``{"state": "start"|"stop"}`` → ``{"state", "expires_in_ms"}`` (bucket ``typing``);
- ``read`` ``{"up_to_seq"}`` → ``{"ticket_id", "last_read_seq"}``.

``support_queue:all`` — who: support agents. Snapshot ``{"tickets": [...]}`` (active tickets,
most urgent first, then oldest); events ``ticket.updated``, ``ticket.note_added``; no commands.
"""

from __future__ import annotations

from typing import Any

from core.exceptions import Forbidden
from core.utils import validated_command
from realtime.registry import Topic, command, register
from support import selectors, services
from support.events import QUEUE_KEY, SUPPORT_QUEUE_TOPIC, TICKET_TOPIC
from support.permissions import can_see_support_queue
from support.serializers import TicketMessageSendInputSerializer, TicketReadInputSerializer, TicketTypingInputSerializer


@register
class TicketTopic(Topic):
    """``ticket:<ticket_id>``: the requester and support agents."""

    kind = TICKET_TOPIC.kind
    track_presence = True
    buckets = {"send": (10, 60), "typing": (10, 60)}

    def authorize(self, *, user, key: str) -> bool:
        return selectors.can_follow_ticket(user=user, ticket_id=key)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        return selectors.ticket_snapshot(user=user, ticket_id=key)

    @command("send", bucket="send")
    def send(self, *, user, key: str, data: dict) -> dict[str, Any]:
        result = services.message_send(user=user, ticket_id=key, **validated_command(TicketMessageSendInputSerializer, data))
        return {"message": selectors.message_data(result.message), "created": result.created}

    @command("typing", bucket="typing")
    def typing(self, *, user, key: str, data: dict) -> dict[str, Any]:
        return services.typing_signal(user=user, ticket_id=key, **validated_command(TicketTypingInputSerializer, data))

    @command("read")
    def read(self, *, user, key: str, data: dict) -> dict[str, Any]:
        return services.mark_read(user=user, ticket_id=key, **validated_command(TicketReadInputSerializer, data))


@register
class SupportQueueTopic(Topic):
    """``support_queue:all``: support agents."""

    kind = SUPPORT_QUEUE_TOPIC.kind

    def authorize(self, *, user, key: str) -> bool:
        return key == QUEUE_KEY and can_see_support_queue(user)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        if not self.authorize(user=user, key=key):
            raise Forbidden("Only support staff see the queue.", code="forbidden")
        return selectors.queue_snapshot(user=user)
