"""Input and output serializers of the support API and of the ``ticket:`` commands. Input
serializers check JSON types (the services enforce the rules and give the codes); output
serializers render the selectors' shapes (``support.selectors``), so REST bodies, snapshots and
events are the same JSON."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import StrictIntegerField
from support.models import (
    MAX_SUBJECT_LENGTH,
    MAX_TEXT_LENGTH,
    RequesterRole,
    Side,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)
from threads.inputs import MAX_CLIENT_MSG_ID_LENGTH, MAX_SEQ


class StrictCharField(serializers.CharField):
    """A string that must be a JSON string (numbers and booleans refused, not converted)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- input -------------------------------------------------------------------------------------


class TicketOpenInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=RequesterRole.choices, default=RequesterRole.BUYER,
                                   help_text="buyer; store (with vendor_id: you speak for that store); courier")
    vendor_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    category = serializers.ChoiceField(choices=TicketCategory.choices)
    priority = serializers.ChoiceField(choices=[TicketPriority.LOW, TicketPriority.NORMAL, TicketPriority.HIGH],
                                       default=TicketPriority.NORMAL, help_text="urgent is set by support staff")
    subject = StrictCharField(max_length=MAX_SUBJECT_LENGTH)
    text = StrictCharField(max_length=MAX_TEXT_LENGTH, help_text="the first message")
    order_id = serializers.UUIDField(required=False, allow_null=True, default=None, help_text="an order of yours")
    delivery_id = serializers.UUIDField(required=False, allow_null=True, default=None, help_text="a delivery of yours")
    return_id = serializers.UUIDField(required=False, allow_null=True, default=None,
                                      help_text="a return (RMA) of yours: the buyer's, or one of the store you speak for")


class TicketMessageSendInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=MAX_TEXT_LENGTH)
    client_msg_id = StrictCharField(max_length=MAX_CLIENT_MSG_ID_LENGTH, required=False, allow_null=True,
                                    allow_blank=True, trim_whitespace=False,
                                    help_text="a retry with the same id returns the same message")
    attachment_id = serializers.UUIDField(required=False, allow_null=True, help_text="an image uploaded to this ticket")


class TicketNoteInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=MAX_TEXT_LENGTH)


class TicketReadInputSerializer(serializers.Serializer):
    up_to_seq = StrictIntegerField(min_value=0, max_value=MAX_SEQ)


class TicketTypingInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["start", "stop"])


class TicketAssignInputSerializer(serializers.Serializer):
    assignee_id = serializers.UUIDField(allow_null=True, help_text="a support agent; null unassigns")


class TicketUpdateInputSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    category = serializers.ChoiceField(choices=TicketCategory.choices, required=False)


class TicketTransitionInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)


class TicketHistoryQuerySerializer(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=MAX_SEQ)
    after = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SEQ)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def validate(self, attrs):
        if attrs.get("before") is not None and attrs.get("after") is not None:
            raise serializers.ValidationError({"before": ["Give either before or after, not both."]})
        return attrs


class TicketQueueQuerySerializer(serializers.Serializer):
    view = serializers.ChoiceField(choices=["all", "unassigned", "mine"], default="all")
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)


class TicketAttachmentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG, GIF or WebP, at most 5 MiB")


# --- output ------------------------------------------------------------------------------------


class TicketPersonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class TicketRequesterSerializer(TicketPersonSerializer):
    role = serializers.ChoiceField(choices=RequesterRole.choices)


class TicketLinksSerializer(serializers.Serializer):
    order_id = serializers.UUIDField(allow_null=True)
    delivery_id = serializers.UUIDField(allow_null=True)
    return_id = serializers.UUIDField(allow_null=True)


class TicketOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    subject = serializers.CharField()
    category = serializers.ChoiceField(choices=TicketCategory.choices)
    priority = serializers.ChoiceField(choices=TicketPriority.choices)
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    requester = TicketRequesterSerializer()
    vendor_id = serializers.UUIDField(allow_null=True)
    links = TicketLinksSerializer()
    assignee = TicketPersonSerializer(allow_null=True)
    last_seq = serializers.IntegerField()
    last_message_at = serializers.CharField(allow_null=True, help_text="ISO 8601 UTC")
    first_response_due_at = serializers.CharField(help_text="created_at + the priority's first-response target")
    first_response_at = serializers.CharField(allow_null=True)
    overdue = serializers.BooleanField(help_text="flagged: no first response in time, and still none")
    sla_breached_at = serializers.CharField(allow_null=True, help_text="when it was flagged overdue (kept once answered)")
    resolved_at = serializers.CharField(allow_null=True)
    reopen_until = serializers.CharField(allow_null=True, help_text="a resolved ticket may be reopened until then")
    closed_at = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    updated_at = serializers.CharField()


class TicketSenderSerializer(TicketPersonSerializer):
    side = serializers.ChoiceField(choices=Side.choices)


class TicketAttachmentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField(help_text="GET it with the bearer token (requester and agents only)")
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes")


class TicketMessageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ticket_id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3 … per ticket, no gaps")
    sender = TicketSenderSerializer()
    text = serializers.CharField()
    attachment = TicketAttachmentOutputSerializer(allow_null=True)
    client_msg_id = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()


class TicketSendOutputSerializer(serializers.Serializer):
    message = TicketMessageOutputSerializer()
    created = serializers.BooleanField(help_text="false when a retried client_msg_id returned the stored message")


class TicketHistoryOutputSerializer(serializers.Serializer):
    results = TicketMessageOutputSerializer(many=True)
    has_more_before = serializers.BooleanField()
    has_more_after = serializers.BooleanField()
    last_seq = serializers.IntegerField()


class TicketNoteOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ticket_id = serializers.UUIDField()
    author = TicketPersonSerializer()
    text = serializers.CharField()
    created_at = serializers.CharField()


class TicketReadOutputSerializer(serializers.Serializer):
    ticket_id = serializers.UUIDField()
    last_read_seq = serializers.IntegerField()
