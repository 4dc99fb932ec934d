"""Buyer–vendor chat: conversations, ordered messages, read state, blocks, reports, attachments.

A :class:`Conversation` joins one buyer and one vendor (store) about one context (a product, an
order or an auction): one per ``(buyer, vendor, context_type, context_id)``. Its participants are
the buyer and the vendor's staff (``commerce.VendorStaff``, owner included) at the time of access.

Invariants the database enforces:

* messages of a conversation have ``seq`` 1, 2, 3… — unique per conversation, assigned under a
  lock of the conversation row (``Conversation.last_seq`` is the highest one; no gaps because
  messages are never removed, only marked ``deleted``);
* a ``client_msg_id`` is unique per (conversation, sender): a retried send returns the stored
  message;
* one read state per (conversation, user), ``0 <= last_read_seq``, ``0 <= unread``;
* one block per (buyer, vendor, side), one report per (message, reporter).

Unread counts: ``ChatReadState.unread`` is, for its user, the number of messages of the
conversation with ``seq > last_read_seq`` that others sent and that are not deleted; the
services keep it exact (``+1`` per message from someone else, recomputed on read, ``-1`` on
delete of an unread message). A user's total is the sum over the conversations they take part in.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from threads.images import EXTENSIONS, PrivateMediaStorage
from threads.inputs import MAX_CLIENT_MSG_ID_LENGTH, MAX_SEQ  # noqa: F401  (the chat's limits: re-exported)

MAX_TEXT_LENGTH = 4000
#: characters of a report's comment
MAX_REPORT_COMMENT = 1000


class ContextType(models.TextChoices):
    """What a conversation is about."""

    PRODUCT = "product", "Product"
    ORDER = "order", "Order"
    AUCTION = "auction", "Auction"


class Side(models.TextChoices):
    """Which side of a conversation a participant is on."""

    BUYER = "buyer", "Buyer"
    VENDOR = "vendor", "Vendor"


class Conversation(models.Model):
    """A buyer–vendor conversation about ``(context_type, context_id)``.

    ``last_seq`` is the seq of the newest message (0 when none); ``last_message`` and
    ``last_message_at`` feed the conversation list (ordered by last message). ``context_title``
    is a snapshot of the context's name at creation (a product name), for lists and admin.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_conversations")
    vendor = models.ForeignKey("commerce.Vendor", on_delete=models.PROTECT, related_name="chat_conversations")
    context_type = models.CharField(max_length=16, choices=ContextType.choices)
    context_id = models.UUIDField()
    context_title = models.CharField(max_length=200, blank=True)
    last_seq = models.BigIntegerField(default=0)
    last_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=True
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "vendor", "context_type", "context_id"], name="chat_conversation_unique_context"
            ),
            models.CheckConstraint(
                condition=Q(context_type__in=[c.value for c in ContextType]), name="chat_conversation_context_type_valid"
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="chat_conversation_last_seq_gte_0"),
        ]
        indexes = [
            models.Index(fields=["buyer", "-last_message_at"], name="chat_conv_buyer_last"),
            models.Index(fields=["vendor", "-last_message_at"], name="chat_conv_vendor_last"),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id} ↔ {self.vendor_id} about {self.context_type} {self.context_id}"


class ChatMediaStorage(PrivateMediaStorage):
    """Private storage of chat images: ``settings.CHAT_MEDIA_ROOT`` (default ``<project>/.data/
    chat-media``), outside ``MEDIA_ROOT`` so no static route ever serves them; participants get
    them through the API only (``threads.images.PrivateMediaStorage``)."""

    setting = "CHAT_MEDIA_ROOT"
    default_dir = "chat-media"


def chat_media_storage() -> ChatMediaStorage:
    return ChatMediaStorage()


def attachment_path(instance: "ChatAttachment", filename: str) -> str:
    ext = EXTENSIONS.get(instance.content_type, "bin")
    return f"chat/{instance.conversation_id}/{instance.pk}.{ext}"


class ChatAttachment(models.Model):
    """An image uploaded into a conversation (JPEG, PNG, GIF or WebP, checked by its bytes),
    attached to at most one message. Served only to participants through the API."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=chat_media_storage, max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.content_type} {self.size} B in {self.conversation_id}"


class Message(models.Model):
    """One message. ``text`` is what participants see (contact details masked, see
    ``chat.moderation``); ``original_text`` is what the sender typed, for staff only.
    ``masked_kinds`` lists what was hidden (``phone``, ``email``, ``link``). A deleted message
    keeps its row and seq (shown as deleted; its text is no longer served to participants)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_messages")
    sender_side = models.CharField(max_length=8, choices=Side.choices)
    text = models.TextField()
    original_text = models.TextField()
    masked_kinds = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    client_msg_id = models.CharField(max_length=MAX_CLIENT_MSG_ID_LENGTH, blank=True)
    image = models.OneToOneField(
        ChatAttachment, null=True, blank=True, on_delete=models.SET_NULL, related_name="message"
    )
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_msg_id"],
                condition=~Q(client_msg_id=""),
                name="chat_message_client_msg_id_unique",
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="chat_message_seq_gte_1"),
            models.CheckConstraint(
                condition=Q(sender_side__in=[s.value for s in Side]), name="chat_message_side_valid"
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("original_text"), 1)
                & LessThanOrEqual(Length("original_text"), MAX_TEXT_LENGTH),
                name="chat_message_text_length",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.conversation_id}"


class ChatReadState(models.Model):
    """How far ``user`` has read ``conversation``, and how many messages they have not read
    (see the module docstring for the exact meaning of ``unread``)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="read_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_read_states")
    last_read_seq = models.BigIntegerField(default=0)
    unread = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="chat_readstate_unique"),
            models.CheckConstraint(condition=Q(last_read_seq__gte=0), name="chat_readstate_seq_gte_0"),
            models.CheckConstraint(condition=Q(unread__gte=0), name="chat_readstate_unread_gte_0"),
        ]
        indexes = [models.Index(fields=["user"], name="chat_readstate_user")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} up to {self.last_read_seq} ({self.unread} unread)"


class ChatUserLock(models.Model):
    """One row per chat user, locked (``SELECT … FOR UPDATE``, user-id order) by every change to
    that user's unread counts, so the ``total_unread`` pushed to ``user:<id>`` follows commit
    order and the last one a client receives is the committed truth.

    ``total_unread`` is that user's total: the sum of ``ChatReadState.unread`` over the
    conversations they take part in (``chat.selectors.unread_totals`` recounts it), kept in the
    same transaction as every change of those counts (``chat.services``) and recounted when the
    user joins or leaves a store's staff (``chat.receivers``). Before, every message summed the
    recipients' read states (a store owner's 500 conversations: 9 % of a chat send, issue 16)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    total_unread = models.IntegerField(default=0)

    def __str__(self) -> str:
        return str(self.user_id)


class ChatBlock(models.Model):
    """One side has blocked the other: the buyer blocked the vendor (``side=buyer``) or the
    vendor's staff blocked the buyer (``side=vendor``). While any block between a buyer and a
    vendor exists, neither can send messages in, or start, a conversation between them."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    vendor = models.ForeignKey("commerce.Vendor", on_delete=models.CASCADE, related_name="+")
    side = models.CharField(max_length=8, choices=Side.choices, help_text="the side that blocked the other")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["buyer", "vendor", "side"], name="chat_block_unique"),
            models.CheckConstraint(condition=Q(side__in=[s.value for s in Side]), name="chat_block_side_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.side} blocked ({self.buyer_id} / {self.vendor_id})"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam"
    SCAM = "scam", "Scam or fraud"
    ABUSE = "abuse", "Abuse or harassment"
    CONTACT_DETAILS = "contact_details", "Moving the deal off the platform"
    OTHER = "other", "Other"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved (action taken)"
    DISMISSED = "dismissed", "Dismissed"


class ChatReport(models.Model):
    """A participant reported a message of the other side; staff work the queue in the admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    comment = models.TextField(blank=True, max_length=1000)
    reported_text = models.TextField(blank=True, help_text="the message's original text when it was reported")
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    staff_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="chat_report_once"),
            models.CheckConstraint(condition=Q(reason__in=[r.value for r in ReportReason]), name="chat_report_reason_valid"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in ReportStatus]), name="chat_report_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="chat_report_queue")]

    def __str__(self) -> str:
        return f"{self.reason} report on {self.message_id} ({self.status})"
