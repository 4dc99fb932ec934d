"""Input and output serializers of the disputes API."""

from __future__ import annotations

from rest_framework import serializers


class DisputeOpenInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["not_received", "not_as_described", "damaged", "wrong_item",
                                             "missing_parts", "other"])
    description = serializers.CharField(max_length=4000)
    claimed_amount = serializers.CharField(required=False, allow_null=True,
                                           help_text="Decimal string; default: all that is refundable")


class DisputeStatementInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class DisputeResolveInputSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=["release", "partial_refund", "refund"])
    amount = serializers.CharField(required=False, allow_null=True,
                                   help_text="partial_refund: the decimal amount back to the buyer")
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class DisputeStatementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=["buyer", "store", "staff"])
    author_name = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class DisputeOutputSerializer(serializers.Serializer):
    """A dispute (``commerce.disputes.selectors.dispute_data``)."""

    id = serializers.UUIDField()
    order = serializers.JSONField(help_text="{id, number, status, currency, total, refunded_total, buyer_id, vendor}")
    source = serializers.CharField(help_text="buyer, or the app that opened it for the buyer (e.g. return)")
    source_id = serializers.UUIDField(allow_null=True, help_text="The source's object (the return's id); null for buyer")
    reason = serializers.CharField()
    description = serializers.CharField()
    claimed_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", "resolved_release", "resolved_partial_refund", "resolved_refund",
                                              "withdrawn"])
    store_responded_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.JSONField(allow_null=True, help_text="{refund_amount, released_amount, note, resolved_at}")
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    statements = DisputeStatementOutputSerializer(many=True, required=False)
