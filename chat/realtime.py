"""The ``chat:<conversation_id>`` topic, and the chat's part of the ``user:<id>`` snapshot.

Who: the conversation's participants (its buyer and the vendor's staff); anyone else — and any
id that is malformed or unknown — gets ``forbidden``. Presence is tracked (``track_presence``):
recipients with no socket on the conversation get a ``chat.message`` notification instead.

Snapshot: ``{"conversation", "messages" (the last 50, ascending seq), "has_more",
"read_states": [{"user_id", "side", "last_read_seq"}], "read_up_to": {"buyer", "vendor"}}``.

Commands (same services as REST, same codes):

- ``send`` ``{"text", "client_msg_id"?, "image_id"?}`` → ``{"message", "created"}`` (own bucket
  ``send``: ``CHAT_SOCKET_SEND_BUCKET``, default 10 burst / 60 per minute per connection, plus the
  per-user limit shared with REST) — codes ``invalid``, ``invalid_image``, ``blocked``,
  ``rate_limited``;
- ``edit`` ``{"seq", "text"}`` → ``{"message"}`` — ``not_sender``, ``message_not_found``,
  ``message_deleted``, ``edit_window_passed``, ``blocked``;
- ``delete`` ``{"seq"}`` → ``{"message"}`` — ``not_sender``, ``message_not_found``;
- ``typing`` ``{"state": "start"|"stop"}`` → ``{"state", "expires_in_ms"}`` (bucket ``typing``);
- ``read`` ``{"up_to_seq"}`` → ``{"conversation_id", "last_read_seq", "unread", "total_unread"}``.

Events: ``chat.message``, ``chat.message_updated``, ``chat.read``, ``chat.block_changed`` (with
seq, replayable) and ``chat.typing`` (ephemeral). See ``chat.services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from chat import selectors, services
from chat.events import CHAT_TOPIC
from chat.serializers import (
    EditCommandSerializer,
    MessageSendInputSerializer,
    ReadInputSerializer,
    ReadOutputSerializer,
    SendOutputSerializer,
    SeqCommandSerializer,
    TypingInputSerializer,
)
from core.utils import validated_command
from realtime.registry import Topic, command, register
from realtime.user_topic import add_snapshot_provider


@register
class ChatTopic(Topic):
    """``chat:<conversation_id>``: participants only."""

    kind = CHAT_TOPIC.kind
    track_presence = True
    buckets = {
        "send": tuple(getattr(settings, "CHAT_SOCKET_SEND_BUCKET", (10, 60))),
        "typing": tuple(getattr(settings, "CHAT_SOCKET_TYPING_BUCKET", (10, 60))),
    }

    def authorize(self, *, user, key: str) -> bool:
        return selectors.is_participant(user=user, conversation_id=key)

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        return selectors.chat_snapshot(user=user, conversation_id=key)

    @command("send", bucket="send")
    def send(self, *, user, key: str, data: dict) -> dict[str, Any]:
        result = services.message_send(user=user, conversation_id=key, **validated_command(MessageSendInputSerializer, data))
        return SendOutputSerializer(result).data

    @command("edit")
    def edit(self, *, user, key: str, data: dict) -> dict[str, Any]:
        message = services.message_edit(user=user, conversation_id=key, **validated_command(EditCommandSerializer, data))
        return {"message": selectors.message_data(message)}

    @command("delete")
    def delete(self, *, user, key: str, data: dict) -> dict[str, Any]:
        message = services.message_delete(user=user, conversation_id=key, **validated_command(SeqCommandSerializer, data))
        return {"message": selectors.message_data(message)}

    @command("typing", bucket="typing")
    def typing(self, *, user, key: str, data: dict) -> dict[str, Any]:
        return services.typing_signal(user=user, conversation_id=key, **validated_command(TypingInputSerializer, data))

    @command("read")
    def read(self, *, user, key: str, data: dict) -> dict[str, Any]:
        result = services.conversation_mark_read(user=user, conversation_id=key, **validated_command(ReadInputSerializer, data))
        return ReadOutputSerializer(result).data


@add_snapshot_provider
def chat_unread_snapshot(*, user) -> dict[str, Any]:
    """``{"chat": {"total_unread": n}}`` for a fresh subscriber of ``user:<id>``."""
    return {"chat": {"total_unread": selectors.unread_total(user_id=user.pk)}}
