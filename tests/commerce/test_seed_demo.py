"""``manage.py seed_demo``: creates the demo marketplace once; a second run creates nothing."""

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command

from commerce.catalog.models import Category, Product, ProductImage
from commerce.payouts.models import BankDetailsStatus, PayoutAccount, Withdrawal, WithdrawalStatus
from commerce.payouts.selectors import available_balance
from commerce.shipping.models import ShippingMethod
from commerce.tax.models import StoreTaxSettings, TaxRate
from commerce.wallet.models import LedgerEntry, LedgerKind
from commerce.stores.models import Vendor, VendorStatus
from core.models import Address, Role, User
from core.permissions import is_marketplace_admin

pytestmark = pytest.mark.django_db


def counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_seed_demo_creates_the_demo_marketplace_and_is_idempotent(settings, debug_on, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)  # its run time is measured by make run's start-up, not asserted
    first = counts()

    assert Product.objects.alive().count() >= 200
    assert Product.objects.filter(stock__gt=0).count() >= 150
    photos = ProductImage.objects.exclude(file="")
    assert photos.count() == 12 and photos.filter(is_primary=True).count() == 6  # 3 products x 2 per active store
    for photo in photos:
        assert all((tmp_path / f.name).is_file() for f in (photo.file, photo.thumbnail_small, photo.thumbnail_large))
    sample = Product.objects.order_by("sku").first()
    assert {"brand", "fits", "material"} <= set(sample.attributes)
    statuses = dict(Vendor.objects.values_list("owner__email", "status"))
    assert statuses == {
        "vendor1@demo.market": VendorStatus.ACTIVE,
        "vendor2@demo.market": VendorStatus.ACTIVE,
        "vendor3@demo.market": VendorStatus.PENDING,
    }
    assert Role.VENDOR in User.objects.get(email="vendor1@demo.market").roles
    admin = User.objects.get(email="admin@demo.market")
    assert is_marketplace_admin(admin) and admin.check_password(settings.DEMO_PASSWORD)
    for email in ["buyer1@demo.market", "buyer2@demo.market", "buyer3@demo.market"]:
        address = Address.objects.get(user__email=email)
        assert address.latitude is not None and address.longitude is not None
    assert User.objects.filter(email__in=["courier1@demo.market", "courier2@demo.market"], roles__contains=["courier"]).count() == 2
    leaf = Category.objects.get(slug="oil-filters")
    assert leaf.parent.slug == "filters" and leaf.parent.parent.slug == "engine"
    assert "seed_demo: created" in out.getvalue()

    # selling for real: shipping methods, tax settings and rates, verified bank details, a paid payout
    for slug, includes_tax in (("rapid-auto-parts", True), ("euro-motor-supply", False)):
        vendor = Vendor.objects.get(slug=slug)
        assert ShippingMethod.objects.filter(vendor=vendor, is_active=True).exists()
        assert StoreTaxSettings.objects.get(vendor=vendor).prices_include_tax is includes_tax
        assert PayoutAccount.objects.get(vendor=vendor).status == BankDetailsStatus.VERIFIED
    assert TaxRate.objects.filter(country="DE", tax_class="standard").exists()
    paid = Withdrawal.objects.get(vendor__slug="rapid-auto-parts")
    assert (paid.status, paid.amount, paid.bank_reference) == (WithdrawalStatus.PAID, Decimal("400.00"), "DEMO-SEPA-0001")
    owner = paid.vendor.owner
    kinds = list(LedgerEntry.objects.filter(wallet__user=owner).order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [LedgerKind.HOLD, LedgerKind.WITHDRAWAL]  # held, then debited when paid
    assert available_balance(vendor=paid.vendor, currency="EUR") >= Decimal("850.00")
    assert not Withdrawal.objects.filter(vendor__slug="euro-motor-supply").exists()

    skus = sorted(Product.objects.values_list("sku", "price"))
    out2 = io.StringIO()
    call_command("seed_demo", stdout=out2)
    assert counts() == first
    assert sorted(Product.objects.values_list("sku", "price")) == skus
    assert "nothing (already seeded)" in out2.getvalue()


def test_seed_demo_products_are_deterministic(debug_on):
    from commerce.orders.models import OrderLine

    call_command("seed_demo", stdout=io.StringIO())
    sold = set(OrderLine.objects.values_list("sku", flat=True))  # the demo order took units of these
    assert sold
    snapshot = sorted(Product.objects.values_list("sku", "name", "price", "stock"))
    Product.objects.all().delete()
    call_command("seed_demo", stdout=io.StringIO())
    again = sorted(Product.objects.values_list("sku", "name", "price", "stock"))
    assert [row[:3] for row in again] == [row[:3] for row in snapshot]
    assert [row for row in again if row[0] not in sold] == [row for row in snapshot if row[0] not in sold]


def test_seeders_are_discovered_from_installed_apps():
    from commerce.management.commands.seed_demo import discover_seeders

    names = [name for name, _ in discover_seeders()]
    assert "commerce.demo" in names
