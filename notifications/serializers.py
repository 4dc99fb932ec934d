"""Input and output serializers of the notifications API (shapes also documented in OpenAPI)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.payloads import target_dict


class NotificationTargetSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="`<app_label>.<model>` of the object, e.g. `commerce.order`.")
    id = serializers.CharField(help_text="Primary key of the object.")


class NotificationSerializer(serializers.Serializer):
    """A notification as the client sees it; the same shape is the data of the
    `notification.created` socket event."""

    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="A registered kind, e.g. `order.status_changed` (see the README).")
    title = serializers.CharField()
    body = serializers.CharField()
    data = serializers.JSONField(help_text="Free JSON for deep-linking, e.g. `{\"order_id\": \"…\"}`.")
    target = serializers.SerializerMethodField()
    critical = serializers.BooleanField(help_text="Critical kinds cannot be switched off.")
    created_at = serializers.DateTimeField()
    seen_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)
    archived_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(NotificationTargetSerializer(allow_null=True))
    def get_target(self, obj) -> dict | None:
        return target_dict(obj.target_content_type_id, obj.target_object_id)


class NotificationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="`true`: only unread; `false`: only read; absent: both.",
    )
    archived = serializers.BooleanField(
        required=False, default=False, help_text="`true`: only archived; `false` (default): the inbox without archived ones."
    )
    kind = serializers.CharField(
        required=False, allow_blank=True,
        help_text="Only these kinds: one kind or several separated by commas (`auction.outbid,auction.won`).",
    )

    def validate_kind(self, value: str) -> list[str]:
        return [k.strip() for k in value.split(",") if k.strip()]


class NotificationCountsSerializer(serializers.Serializer):
    """Also the data of the `notification.counts` socket event."""

    unread = serializers.IntegerField(min_value=0, help_text="Visible, not archived, not read.")
    unseen = serializers.IntegerField(min_value=0, help_text="Visible, not archived, not seen (the bell badge).")


class NotificationBulkResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(min_value=0, help_text="How many notifications changed.")
    counts = NotificationCountsSerializer()


class NotificationChannelsSerializer(serializers.Serializer):
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class NotificationKindPreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    critical = serializers.BooleanField(help_text="Critical kinds are always on for every channel.")
    channels = NotificationChannelsSerializer(help_text="The user's effective choice.")
    defaults = NotificationChannelsSerializer(help_text="What applies when the user has not chosen.")


class NotificationPreferencesSerializer(serializers.Serializer):
    email_digest = serializers.BooleanField(
        help_text="One daily email of what stayed unread instead of one email per notification "
        "(critical kinds are still emailed at once)."
    )
    kinds = NotificationKindPreferenceSerializer(many=True)


class NotificationPreferencesUpdateSerializer(serializers.Serializer):
    email_digest = serializers.BooleanField(required=False)
    channels = serializers.DictField(
        child=serializers.DictField(child=serializers.BooleanField()),
        required=False,
        help_text="`{kind: {channel: bool}}`, e.g. `{\"auction.outbid\": {\"email\": false}}`. Channels: "
        "`in_app`, `email`. Unknown kind → 400 `unknown_kind`; unknown channel → 400 `unknown_channel`; "
        "switching off a critical kind → 400 `critical_kind`.",
    )
