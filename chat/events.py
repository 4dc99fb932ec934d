"""The ``chat:<conversation_id>`` topic kind and the chat event types (``realtime.events``);
``chat.unread`` goes to each participant's ``user:`` topic.

A participant keeps the snapshot (``chat.selectors.chat_snapshot``) with them: messages from
``chat.message`` / ``chat.message_updated`` (the sender of a message has read up to its seq),
read receipts from ``chat.read``, the block from ``chat.block_changed``, and the conversation's
``unread`` for themselves from ``chat.unread`` on their own ``user:`` topic. ``chat.typing`` is
ephemeral (no seq, never stored or replayed, not sent to the typist's own sockets).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from realtime.events import Count, Event, EventSchema, Payload, Timestamp, TopicKind, Topics, one_of
from realtime.user_topic import USER_TOPIC

from chat.models import MAX_CLIENT_MSG_ID_LENGTH, Message, Side
from chat.selectors import message_data

#: ``chat:<conversation_id>``: one buyer–vendor conversation (its participants only)
CHAT_TOPIC = TopicKind("chat", key="the conversation id", description="one buyer–vendor conversation")

SideValue = one_of(Side.values)


class MessageSender(Payload):
    id: UUID
    side: SideValue
    name: str


class MessageImage(Payload):
    id: UUID
    url: str = Field(description="site-relative; served to participants only")
    content_type: str
    size: Count = Field(description="bytes")


class MessageData(EventSchema):
    """The message shape (REST, snapshot, events)."""

    topics: ClassVar[Topics] = (CHAT_TOPIC,)

    id: UUID
    conversation_id: UUID
    seq: int = Field(ge=1, description="the message's place in the conversation: 1, 2, 3 … without gaps")
    sender: MessageSender
    text: str | None = Field(description="contact details masked; null once deleted")
    masked: bool = Field(description="contact details were hidden")
    image: MessageImage | None
    client_msg_id: str | None = Field(max_length=MAX_CLIENT_MSG_ID_LENGTH)
    created_at: Timestamp
    edited_at: Timestamp | None
    deleted: bool

    @classmethod
    def build(cls, *, message: Message, sender: Any = None) -> Event:
        """``message`` (load ``sender`` and ``image`` with it, or pass ``sender``)."""
        return cls.event(message_data(message, sender=sender))


class ChatMessage(MessageData):
    """A new message; its sender has read up to its ``seq``."""

    type: ClassVar[str] = "chat.message"


class ChatMessageUpdated(MessageData):
    """A message after an edit (``edited_at``) or a delete (``deleted``, ``text`` and ``image``
    null)."""

    type: ClassVar[str] = "chat.message_updated"


class ChatRead(EventSchema):
    """A participant read up to ``last_read_seq`` (read receipts: "seen" ticks of the other
    side follow the furthest reader of a side)."""

    type: ClassVar[str] = "chat.read"
    topics: ClassVar[Topics] = (CHAT_TOPIC,)

    conversation_id: UUID
    user_id: UUID
    side: SideValue
    last_read_seq: Count

    @classmethod
    def build(cls, *, conversation_id: Any, user_id: Any, side: str, last_read_seq: int) -> Event:
        return cls.event({"conversation_id": conversation_id, "user_id": user_id, "side": side,
                          "last_read_seq": last_read_seq})


class ChatBlockChanged(EventSchema):
    """A side blocked or unblocked the other (in every conversation between the buyer and the
    store): ``blocked_by`` lists the sides that block now."""

    type: ClassVar[str] = "chat.block_changed"
    topics: ClassVar[Topics] = (CHAT_TOPIC,)

    conversation_id: UUID
    blocked: bool
    blocked_by: list[SideValue]

    @classmethod
    def build(cls, *, conversation_id: Any, blocked_by: list[str]) -> Event:
        return cls.event({"conversation_id": conversation_id, "blocked": bool(blocked_by), "blocked_by": blocked_by})


class ChatTyping(EventSchema):
    """Ephemeral: a participant started or stopped typing; ``start`` expires after
    ``expires_in_ms`` unless repeated."""

    type: ClassVar[str] = "chat.typing"
    topics: ClassVar[Topics] = (CHAT_TOPIC,)
    ephemeral: ClassVar[bool] = True

    conversation_id: UUID
    user_id: UUID
    side: SideValue
    name: str
    state: Literal["start", "stop"]
    expires_in_ms: Count = Field(description="5000 for start, 0 for stop")

    @classmethod
    def build(cls, *, conversation_id: Any, user: Any, side: str, state: str, expires_in_ms: int) -> Event:
        return cls.event({"conversation_id": conversation_id, "user_id": user.pk, "side": side,
                          "name": user.display_name or "", "state": state, "expires_in_ms": expires_in_ms})


class ChatUnread(EventSchema):
    """On the participant's own ``user:`` topic: their unread count in one conversation and
    over all of them changed (a message arrived or was deleted, they read)."""

    type: ClassVar[str] = "chat.unread"
    topics: ClassVar[Topics] = (USER_TOPIC,)

    conversation_id: UUID
    unread: Count
    total_unread: Count

    @classmethod
    def build(cls, *, conversation_id: Any, unread: int, total_unread: int) -> Event:
        return cls.event({"conversation_id": conversation_id, "unread": unread, "total_unread": total_unread})
