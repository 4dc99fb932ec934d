"""Admin of wallets, holds and escrows (read-only: money moves only through the services)."""

from django.contrib import admin

from commerce.common.admin import ReadOnlyAdmin, ReadOnlyInline
from commerce.wallet.models import Escrow, LedgerEntry, Wallet, WalletHold


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("created_at", "kind", "amount", "held_amount", "balance_after", "held_after", "reference", "memo")
    readonly_fields = fields
    ordering = ("-id",)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("user", "currency", "balance", "held_balance", "updated_at")
    search_fields = ("user__email",)
    inlines = [LedgerInline]


@admin.register(WalletHold)
class WalletHoldAdmin(ReadOnlyAdmin):
    list_display = ("wallet", "reference", "amount", "status", "created_at")
    list_filter = ("status",)


@admin.register(Escrow)
class EscrowAdmin(ReadOnlyAdmin):
    list_display = ("order", "status", "amount", "commission", "release_after", "released_at", "release_reason")
    list_filter = ("status", "release_reason")
    search_fields = ("order__number",)
