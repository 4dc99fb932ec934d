"""Input and output serializers of the chat API and of the ``chat:`` topic commands.

Input serializers only check shapes and types (the services enforce the rules and give the
codes); output serializers document the JSON shapes built by ``chat.selectors`` (views return
those dicts as they are, so REST bodies, the topic snapshot and events are the same JSON).
"""

from __future__ import annotations

from rest_framework import serializers

from core.fields import StrictIntegerField
from chat.models import (
    MAX_CLIENT_MSG_ID_LENGTH,
    MAX_TEXT_LENGTH,
    ContextType,
    ReportReason,
    Side,
)
from chat.services import MAX_REPORT_COMMENT, MAX_SEQ


class StrictCharField(serializers.CharField):
    """A string that must be a JSON string: numbers and booleans are refused, not converted."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _text_field() -> serializers.CharField:
    return StrictCharField(max_length=MAX_TEXT_LENGTH, help_text="1–4,000 characters (surrounding whitespace is dropped)")


class ChatErrorSerializer(serializers.Serializer):
    """Every refusal: ``{"code", "detail", "fields"?}`` (``retry_after_ms`` with ``rate_limited``)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(required=False)
    retry_after_ms = serializers.IntegerField(required=False)


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


# --- output (documentation of the selectors' shapes) -------------------------------------------


class SenderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    side = serializers.ChoiceField(choices=Side.choices)
    name = serializers.CharField()


class ImageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField(help_text="GET it with the bearer token (participants only)")
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes")


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3… per conversation, no gaps")
    sender = SenderSerializer()
    text = serializers.CharField(allow_null=True, help_text="contact details masked; null once deleted")
    masked = serializers.BooleanField(help_text="contact details were hidden")
    image = ImageSerializer(allow_null=True)
    client_msg_id = StrictCharField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()


class SendOutputSerializer(serializers.Serializer):
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
    seq = serializers.IntegerField()
    sender_id = serializers.UUIDField()
    sender_side = serializers.CharField(help_text="buyer | vendor")
    preview = serializers.CharField(allow_null=True, help_text="the masked text, at most 140 characters; null when deleted")
    has_image = serializers.BooleanField()
    deleted = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ConversationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    buyer = PartySerializer()
    vendor = VendorPartySerializer()
    context = ContextOutputSerializer()
    my_side = serializers.CharField(help_text="the caller's side: buyer | vendor")
    last_seq = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_message = PreviewSerializer(allow_null=True)
    unread = serializers.IntegerField()
    blocked = serializers.BooleanField()
    blocked_by = serializers.ListField(child=serializers.CharField(), help_text="sides that blocked: buyer, vendor")
    created_at = serializers.DateTimeField()


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
    blocked_by = serializers.ListField(child=serializers.CharField(), help_text="sides that blocked: buyer, vendor")


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class AttachmentOutputSerializer(ImageSerializer):
    pass
