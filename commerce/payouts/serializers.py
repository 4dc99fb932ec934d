"""Input and output serializers of the payouts API. The full IBAN is shown to marketplace admins
(who pay it); store owners see it masked (``DE89 **** **** **** **30 00``): they typed it, and a
stolen session must not read it back."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import MoneyField

from commerce.payouts.models import BankDetailsStatus, PayoutAccount, Withdrawal, WithdrawalStatus
from commerce.stores.serializers import VendorRefSerializer


def mask_iban(iban: str) -> str:
    """``iban`` in groups of four with everything but the country, check digits and last four
    characters masked: ``DE89370400440532013000`` -> ``DE89 **** **** **** **30 00``."""
    if len(iban) <= 8:
        return iban
    masked = iban[:4] + "*" * (len(iban) - 8) + iban[-4:]
    return " ".join(masked[i:i + 4] for i in range(0, len(masked), 4))


class _IbanMixin:
    def iban_for_context(self, iban: str) -> str:
        return iban if self.context.get("full_iban") else mask_iban(iban)


class PayoutAccountInputSerializer(serializers.Serializer):
    holder_name = serializers.CharField(max_length=140, help_text="The account holder's name, as the bank has it")
    iban = serializers.CharField(max_length=50, help_text="Spaces allowed; checked with python-stdnum (country "
                                                           "format and check digits)")
    bic = serializers.CharField(max_length=20, help_text="8 or 11 characters (SWIFT/BIC)")
    minimum_amount = MoneyField(required=False, help_text="Smallest withdrawal (at least PAYOUT_MINIMUM_FLOOR); "
                                                          "kept when left out")


class PayoutAccountOutputSerializer(_IbanMixin, serializers.ModelSerializer):
    """A store's payout account: bank details with their verification, the withdrawal minimum,
    and the money available to withdraw now (the account holder's wallet: balance less holds)."""

    vendor = VendorRefSerializer()
    iban = serializers.SerializerMethodField(help_text="Masked for the store, full for marketplace admins")
    status = serializers.ChoiceField(choices=BankDetailsStatus.choices)
    minimum_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.SerializerMethodField(help_text="Money that can be withdrawn now (decimal string)")

    class Meta:
        model = PayoutAccount
        fields = ["vendor", "holder_name", "iban", "bic", "status", "status_reason", "status_changed_at",
                  "minimum_amount", "currency", "available", "created_at", "updated_at"]
        read_only_fields = fields

    def get_iban(self, account: PayoutAccount) -> str:
        return self.iban_for_context(account.iban)

    def get_available(self, account: PayoutAccount) -> str:
        return f"{self.context.get('available', 0):.2f}"


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class WithdrawalInputSerializer(serializers.Serializer):
    amount = MoneyField(help_text="At least the store's minimum, at most what is available")
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="Default: the payout account's")


class PaidInputSerializer(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=64, help_text="The reference of the bank transfer")


class WithdrawalOutputSerializer(_IbanMixin, serializers.ModelSerializer):
    """A withdrawal with the bank details it goes to (copied when it was requested)."""

    vendor = VendorRefSerializer()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    status = serializers.ChoiceField(choices=WithdrawalStatus.choices)
    iban = serializers.SerializerMethodField(help_text="Masked for the store, full for marketplace admins")
    requested_by_id = serializers.UUIDField()

    class Meta:
        model = Withdrawal
        fields = ["id", "vendor", "amount", "currency", "status", "holder_name", "iban", "bic", "bank_reference",
                  "reason", "requested_by_id", "approved_at", "paid_at", "rejected_at", "cancelled_at", "created_at",
                  "updated_at"]
        read_only_fields = fields

    def get_iban(self, withdrawal: Withdrawal) -> str:
        return self.iban_for_context(withdrawal.iban)
