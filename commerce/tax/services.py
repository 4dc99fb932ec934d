"""Writes of the tax room: a store's tax settings. Rates are kept by marketplace staff in the
Django admin (``commerce.tax.admin``) and seeded with EU examples by migration
``0005_tax_rates_seed``."""

from __future__ import annotations

import uuid

from django.db import transaction

from commerce.stores.models import Vendor
from commerce.stores.selectors import vendor_get_managed
from commerce.tax.models import StoreTaxSettings
from commerce.tax.signals import store_tax_settings_changed


def store_tax_settings_update(*, user, vendor_id: uuid.UUID, prices_include_tax: bool) -> StoreTaxSettings:
    """Set whether store ``vendor_id``'s prices include tax. Orders already placed keep what
    they were charged; carts holding the store's products are refreshed (``cart.updated``).
    Raises ``NotFound`` ``vendor_not_found`` and ``Forbidden`` ``store_settings_not_allowed``
    (``commerce.stores.selectors.vendor_get_managed``)."""
    vendor_get_managed(user=user, vendor_id=vendor_id)
    with transaction.atomic():
        Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        settings, _ = StoreTaxSettings.objects.get_or_create(vendor_id=vendor_id)
        if settings.prices_include_tax != bool(prices_include_tax):
            settings.prices_include_tax = bool(prices_include_tax)
            settings.save()
            store_tax_settings_changed.send(sender=StoreTaxSettings, vendor_id=vendor_id)
        return settings
