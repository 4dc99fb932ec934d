"""Output serializers of the wallet API."""

from __future__ import annotations

from rest_framework import serializers


class WalletEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed change of balance")
    held_amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed change of held_balance")
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    held_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    reference = serializers.CharField()
    memo = serializers.CharField()
    created_at = serializers.DateTimeField()


class WalletOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    held_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.DecimalField(max_digits=14, decimal_places=2)
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    ledger = WalletEntrySerializer(many=True, help_text="The latest 50 entries, newest first")
