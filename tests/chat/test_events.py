"""The ``chat:`` topic in the style of Zulip's event tests: a participant's client that starts
from the snapshot and applies the events ends with exactly a fresh snapshot — the buyer's and a
store clerk's — through messages of both sides (long, masked, with an image), read receipts,
an edit, deletes, a block and its lifting, typing, and more messages than a snapshot holds.

A client is subscribed to the conversation and to its own ``user:`` topic, where its unread
count of the conversation arrives (``chat.unread``: personal, so not on the shared topic). The
reducer it writes:

* ``chat.message``: append (keep the last 50; older ones make ``has_more``); the conversation's
  ``last_seq``, ``last_message_at`` and ``last_message`` preview (the text cut at 140 characters
  with "…"); its sender has read up to its seq;
* ``chat.message_updated``: replace the message (and the preview when it is the last);
* ``chat.read``: the reader's ``last_read_seq``; ``read_up_to`` of a side is its furthest reader;
* ``chat.block_changed``: the conversation's ``blocked`` and ``blocked_by``;
* ``chat.unread`` for this conversation: its ``unread``.

Everything in the snapshot is compared.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chat import services
from chat.events import CHAT_TOPIC
from chat.models import Side
from commerce.stores.models import VendorStaff
from realtime.user_topic import USER_TOPIC
from tests.factories.chat import ConversationFactory, send
from tests.realtime.replay import Client

pytestmark = pytest.mark.django_db

PREVIEW_CHARS = 140


def preview(message: dict) -> dict:
    text = message["text"]
    if text is not None and len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1] + "…"
    return {"seq": message["seq"], "sender_id": message["sender"]["id"], "sender_side": message["sender"]["side"],
            "preview": text, "has_image": message["image"] is not None, "deleted": message["deleted"],
            "created_at": message["created_at"]}


def _read(state: dict, user_id: str, side: str, seq: int) -> None:
    for read in state["read_states"]:
        if read["user_id"] == user_id:
            read["last_read_seq"] = max(read["last_read_seq"], seq)
    state["read_up_to"][side] = max([r["last_read_seq"] for r in state["read_states"] if r["side"] == side] + [0])


def reduce_chat(state: dict, type_: str, data: dict) -> dict:
    """What a participant does with the events of the conversation (and ``chat.unread``)."""
    conversation = state["conversation"]
    if type_ in ("chat.message", "chat.message_updated"):
        messages = state["messages"]
        if type_ == "chat.message":
            messages.append(data)
            if len(messages) > 50:
                del messages[0]
                state["has_more"] = True
            conversation["last_seq"], conversation["last_message_at"] = data["seq"], data["created_at"]
            _read(state, data["sender"]["id"], data["sender"]["side"], data["seq"])
        else:
            state["messages"] = [data if m["seq"] == data["seq"] else m for m in messages]
        if data["seq"] == conversation["last_seq"]:
            conversation["last_message"] = preview(data)
    elif type_ == "chat.read":
        _read(state, data["user_id"], data["side"], data["last_read_seq"])
    elif type_ == "chat.block_changed":
        conversation["blocked"], conversation["blocked_by"] = data["blocked"], data["blocked_by"]
    elif type_ == "chat.unread":
        if data["conversation_id"] == conversation["id"]:
            conversation["unread"] = data["unread"]
    else:
        assert not type_.startswith("chat."), type_  # the user: topic carries other kinds too
    return state


def participant(user, conversation) -> Client:
    return Client(user=user, topic=CHAT_TOPIC.name(conversation.pk), also=[USER_TOPIC.name(user.pk)], reduce=reduce_chat)


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def test_buyer_and_clerk_keep_exactly_the_snapshot_through_a_conversation():
    conversation = ConversationFactory(staff=1)
    buyer, owner = conversation.buyer, conversation.vendor.owner
    clerk = VendorStaff.objects.filter(vendor=conversation.vendor).exclude(user=owner).get().user
    clients = [participant(buyer, conversation), participant(clerk, conversation)]

    def sync(*expected):
        """Both clients in sync; ``expected`` among the events one of them applied."""
        seen = {t for client in clients for t in client.sync()}
        assert set(expected) <= seen, (expected, seen)

    send(conversation, buyer, "Hello! Is the teapot still available?")
    sync("chat.message")
    send(conversation, owner, "Yes. " + "It is a lovely piece, hand-painted in 1962 and never used. " * 3
         + "Call me on +49 170 1234567.")
    sync("chat.message", "chat.unread")
    assert clients[0].state["conversation"]["last_message"]["preview"].endswith("…")
    send(conversation, clerk, "I can also send photos.")
    sync("chat.message")
    assert clients[0].state["conversation"]["unread"] == 2

    services.conversation_mark_read(user=buyer, conversation_id=conversation.pk, up_to_seq=3)
    sync("chat.read")
    services.message_edit(user=owner, conversation_id=conversation.pk, seq=2, text="Yes, it is.")
    sync("chat.message_updated")
    services.message_delete(user=clerk, conversation_id=conversation.pk, seq=3)
    sync("chat.message_updated")

    image = services.attachment_upload(user=buyer, conversation_id=conversation.pk, file=png())
    send(conversation, buyer, "Like this one?", image_id=str(image.pk))
    sync("chat.message", "chat.unread")
    assert clients[1].state["messages"][-1]["image"]["content_type"] == "image/png"
    services.typing_signal(user=clerk, conversation_id=conversation.pk, state="start")  # ephemeral: no state
    sync()
    services.message_delete(user=buyer, conversation_id=conversation.pk, seq=4)
    sync("chat.message_updated", "chat.unread")

    services.conversation_block(user=buyer, conversation_id=conversation.pk)
    sync("chat.block_changed")
    services.conversation_unblock(user=buyer, conversation_id=conversation.pk)
    sync("chat.block_changed")

    for i in range(55):
        send(conversation, owner if i % 2 else buyer, f"message {i}")
    sync("chat.message", "chat.unread")
    assert clients[0].state["has_more"] is True and len(clients[0].state["messages"]) == 50
    services.conversation_mark_read(user=clerk, conversation_id=conversation.pk, up_to_seq=10_000)
    sync("chat.read")
    assert clients[0].state["read_up_to"][Side.VENDOR] == clients[0].state["conversation"]["last_seq"]
