"""Output serializers of the wallet API and of ``wallet.updated`` events."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import MoneyOutputField, TimestampField

#: ledger entries in a wallet's REST body (the whole ledger: ``GET /wallet/ledger/``)
LEDGER_PREVIEW = 50


class WalletEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed change of balance")
    held_amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed change of held_balance")
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    held_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    reference = serializers.CharField()
    memo = serializers.CharField()
    created_at = TimestampField()


class WalletSerializer(serializers.Serializer):
    """A wallet's summary: the ``wallet.updated`` event data on the owner's ``user:`` topic.
    ``available`` = ``balance`` − ``held_balance``; money as ``"12.50"`` strings."""

    id = serializers.UUIDField()
    currency = serializers.CharField()
    balance = MoneyOutputField()
    held_balance = MoneyOutputField()
    available = MoneyOutputField()
    version = serializers.IntegerField()
    updated_at = TimestampField()


class WalletOutputSerializer(WalletSerializer):
    """The wallet's REST body: :class:`WalletSerializer` plus ``ledger``, the latest
    :data:`LEDGER_PREVIEW` entries, newest first."""

    ledger = serializers.SerializerMethodField(help_text="The latest 50 entries, newest first")

    @extend_schema_field(WalletEntrySerializer(many=True))
    def get_ledger(self, wallet) -> list[dict]:
        return WalletEntrySerializer(wallet.entries.order_by("-id")[:LEDGER_PREVIEW], many=True).data
