"""Input and output serializers of the chat API and of the ``chat:`` topic commands.

Input serializers only check shapes and types (the services enforce the rules and give the
codes); output serializers render every shape (``chat.selectors`` calls them), so REST bodies,
the topic snapshot, events and command replies are the same JSON.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import StrictIntegerField, TimestampField
from chat.models import (
    MAX_CLIENT_MSG_ID_LENGTH,
    MAX_REPORT_COMMENT,
    MAX_SEQ,
    MAX_TEXT_LENGTH,
    ContextType,
    ReportReason,
    Side,
)

#: characters of a conversation's last-message preview
PREVIEW_CHARS = 140


class StrictCharField(serializers.CharField):
    """A string that must be a JSON string: numbers and booleans are refused, not converted."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _text_field() -> serializers.CharField:
    return StrictCharField(max_length=MAX_TEXT_LENGTH, help_text="1–4,000 characters (surrounding whitespace is dropped)")


# --- input -------------------------------------------------------------------------------------


class ContextInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ContextType.choices)
    id = serializers.UUIDField()


class ConversationStartInputSerializer(serializers.Serializer):
    vendor_id = serializers.UUIDField()
    context = ContextInputSerializer()


class MessageSendInputSerializer(serializers.Serializer):
    text = _text_field()
    client_msg_id = StrictCharField(
        max_length=MAX_CLIENT_MSG_ID_LENGTH, required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
        help_text="Client-chosen id (printable ASCII, no spaces, at most 64): a retry with the same id returns the same message.",
    )
    image_id = serializers.UUIDField(required=False, allow_null=True, help_text="An attachment uploaded to this conversation")


class MessageEditInputSerializer(serializers.Serializer):
    text = _text_field()


class SeqCommandSerializer(serializers.Serializer):
    seq = StrictIntegerField(min_value=1, max_value=MAX_SEQ)


class EditCommandSerializer(SeqCommandSerializer):
    text = _text_field()


class ReadInputSerializer(serializers.Serializer):
    up_to_seq = StrictIntegerField(min_value=0, max_value=MAX_SEQ)


class TypingInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["start", "stop"])


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    comment = serializers.CharField(max_length=MAX_REPORT_COMMENT, required=False, allow_blank=True, default="")


class HistoryQuerySerializer(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=MAX_SEQ)
    after = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SEQ)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def validate(self, attrs):
        if attrs.get("before") is not None and attrs.get("after") is not None:
            raise serializers.ValidationError({"before": ["Give either before or after, not both."]})
        return attrs


class AttachmentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG, GIF or WebP, at most 5 MiB")


# --- output: REST bodies, the topic snapshot, events and command replies -------------------------


class SenderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    side = serializers.ChoiceField(choices=Side.choices)
    name = serializers.CharField()


class ImageSerializer(serializers.Serializer):
    """An uploaded image (``ChatAttachment``)."""

    id = serializers.UUIDField(source="pk")
    url = serializers.SerializerMethodField(help_text="GET it with the bearer token (participants only)")
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes")

    def get_url(self, att) -> str:
        return reverse("chat-attachment-detail",
                       kwargs={"conversation_id": str(att.conversation_id), "attachment_id": str(att.pk)})


class MessageOutputSerializer(serializers.Serializer):
    """A message (``chat.selectors.message_data``); load messages with ``select_related("sender",
    "image")``, or give the sender in ``context["sender"]``."""

    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3… per conversation, no gaps")
    sender = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField(help_text="contact details masked; null once deleted")
    masked = serializers.SerializerMethodField(help_text="contact details were hidden")
    image = serializers.SerializerMethodField()
    client_msg_id = serializers.SerializerMethodField()
    created_at = TimestampField()
    edited_at = TimestampField(allow_null=True)
    deleted = serializers.BooleanField()

    @extend_schema_field(SenderSerializer)
    def get_sender(self, message) -> dict:
        sender = self.context.get("sender") or message.sender
        return {"id": str(message.sender_id), "side": message.sender_side, "name": sender.display_name or ""}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_text(self, message) -> str | None:
        return None if message.deleted else message.text

    def get_masked(self, message) -> bool:
        return bool(message.masked_kinds) and not message.deleted

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_image(self, message) -> dict | None:
        if not message.image_id or message.deleted:
            return None
        return ImageSerializer(message.image).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_client_msg_id(self, message) -> str | None:
        return message.client_msg_id or None


class SendOutputSerializer(serializers.Serializer):
    """A sent message (REST and the socket command ``send``): a ``message_send`` result."""

    message = MessageOutputSerializer()
    created = serializers.BooleanField(help_text="false when a retried client_msg_id returned the stored message")


class PartySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class VendorPartySerializer(PartySerializer):
    slug = serializers.CharField()


class ContextOutputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ContextType.choices)
    id = serializers.UUIDField()
    title = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    """The last message of a conversation, shortened (a ``Message``)."""

    seq = serializers.IntegerField()
    sender_id = serializers.UUIDField()
    sender_side = serializers.ChoiceField(choices=Side.choices)
    preview = serializers.SerializerMethodField(
        help_text=f"the masked text, at most {PREVIEW_CHARS} characters; null when deleted")
    has_image = serializers.SerializerMethodField()
    deleted = serializers.BooleanField()
    created_at = TimestampField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_preview(self, message) -> str | None:
        text = None if message.deleted else message.text
        if text is not None and len(text) > PREVIEW_CHARS:
            text = text[: PREVIEW_CHARS - 1] + "…"
        return text

    def get_has_image(self, message) -> bool:
        return bool(message.image_id) and not message.deleted


class ConversationOutputSerializer(serializers.Serializer):
    """A conversation for a participant (``chat.selectors.ConversationView``)."""

    id = serializers.UUIDField(source="conversation.pk")
    buyer = PartySerializer()
    vendor = VendorPartySerializer()
    context = ContextOutputSerializer()
    my_side = serializers.ChoiceField(source="side", choices=Side.choices, help_text="the caller's side")
    last_seq = serializers.IntegerField(source="conversation.last_seq")
    last_message_at = TimestampField(source="conversation.last_message_at", allow_null=True)
    last_message = PreviewSerializer(source="conversation.last_message", allow_null=True)
    unread = serializers.IntegerField()
    blocked = serializers.BooleanField()
    blocked_by = serializers.ListField(child=serializers.ChoiceField(choices=Side.choices),
                                      help_text="sides that blocked: buyer, vendor")
    created_at = TimestampField(source="conversation.created_at")


class HistoryOutputSerializer(serializers.Serializer):
    results = MessageOutputSerializer(many=True)
    has_more_before = serializers.BooleanField()
    has_more_after = serializers.BooleanField()
    last_seq = serializers.IntegerField()


class ReadOutputSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField()
    total_unread = serializers.IntegerField()


class UnreadItemSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    unread = serializers.IntegerField()


class UnreadOutputSerializer(serializers.Serializer):
    total_unread = serializers.IntegerField()
    conversations = UnreadItemSerializer(many=True)


class BlockOutputSerializer(serializers.Serializer):
    blocked = serializers.BooleanField()
    blocked_by = serializers.ListField(child=serializers.ChoiceField(choices=Side.choices),
                                       help_text="sides that blocked: buyer, vendor")


class ReportOutputSerializer(serializers.Serializer):
    """A report of a message (``ChatReport``)."""

    id = serializers.UUIDField(source="pk")
    message_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    status = serializers.CharField()
    created_at = TimestampField()


class AttachmentOutputSerializer(ImageSerializer):
    pass
