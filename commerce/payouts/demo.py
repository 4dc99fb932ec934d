"""Payout demo data (called from ``commerce.demo.seed`` by ``manage.py seed_demo``): each active
demo store gets bank details verified by the demo admin, and Rapid Auto Parts (vendor1) has
released earnings and one withdrawal paid to its bank, so the console's payouts panel shows a
balance, verified details and a history.

Everything goes through the payout services (``commerce.payouts.services``) as the real actors
(the store's owner sets the details and requests; the marketplace admin verifies, approves and
pays), so the ledger shows what production shows: a ``payout`` credit (the earnings, as escrow
releases pay them), then ``hold`` and ``withdrawal`` for the paid withdrawal. Idempotent: a
store with a payout account is left alone; the earnings credit has the natural key
``reference="demo:earnings"``; the withdrawal is made only while the store has none.
"""

from __future__ import annotations

from decimal import Decimal

from commerce.payouts import services
from commerce.payouts.models import PayoutAccount, Withdrawal
from commerce.stores.models import VendorStatus
from commerce.wallet.models import LedgerEntry, LedgerKind
from commerce.wallet.services import wallet_credit

#: store short name -> (holder, IBAN, BIC): valid test IBANs (check digits per ISO 13616)
BANK_DETAILS: dict[str, tuple[str, str, str]] = {
    "vendor1": ("Rapid Auto Parts GmbH", "DE89370400440532013000", "COBADEFFXXX"),
    "vendor2": ("Euro Motor Supply GmbH", "DE02120300000000202051", "BYLADEM1001"),
}

#: vendor1's released earnings and the withdrawal paid out of them (EUR)
EARNINGS = Decimal("1250.00")
PAID_WITHDRAWAL = Decimal("400.00")
BANK_REFERENCE = "DEMO-SEPA-0001"


def seed_payouts(ctx) -> None:
    """Verified bank details for the active demo stores; vendor1's earnings and paid withdrawal
    (module docstring). ``ctx``: ``seed_demo``'s ``DemoContext`` with ``users["admin"]`` and the
    ``vendors``."""
    admin = ctx.users.get("admin")
    if admin is None:
        return
    for short, (holder, iban, bic) in BANK_DETAILS.items():
        vendor = ctx.vendors.get(short)
        if vendor is None or vendor.status != VendorStatus.ACTIVE or PayoutAccount.objects.filter(vendor=vendor).exists():
            continue
        services.payout_account_set(vendor_id=vendor.pk, actor=vendor.owner, holder_name=holder, iban=iban, bic=bic)
        services.payout_account_verify(vendor_id=vendor.pk, actor=admin)
        ctx.count("payout accounts", 1)
    vendor = ctx.vendors.get("vendor1")
    if vendor is None or vendor.status != VendorStatus.ACTIVE:
        return
    if not LedgerEntry.objects.filter(wallet__user=vendor.owner, reference="demo:earnings").exists():
        wallet_credit(user=vendor.owner, amount=EARNINGS, currency="EUR", kind=LedgerKind.PAYOUT,
                      reference="demo:earnings", memo="Demo earnings (released escrows)")
    if not Withdrawal.objects.filter(vendor=vendor).exists():
        withdrawal = services.withdrawal_request(vendor_id=vendor.pk, actor=vendor.owner, amount=str(PAID_WITHDRAWAL))
        services.withdrawal_approve(withdrawal_id=withdrawal.pk, actor=admin)
        services.withdrawal_mark_paid(withdrawal_id=withdrawal.pk, actor=admin, bank_reference=BANK_REFERENCE)
        ctx.count("withdrawals", 1)
    ctx.summary.append(f"Payouts: verified bank details for {', '.join(BANK_DETAILS)}; vendor1 earned {EARNINGS} EUR "
                       f"and was paid {PAID_WITHDRAWAL} EUR of it (bank reference {BANK_REFERENCE})")
