"""Tax: rates per country and tax class, and each store's way of entering prices.

A :class:`TaxRate` is the value-added tax of one country for one :class:`TaxClass` from
``valid_from`` on (a rate change is a new row; the newest row not after the day of the sale
applies). The ``zero`` class is 0 % everywhere and has no rows. :class:`StoreTaxSettings` says
whether a store's prices include the tax (EU consumer prices do: Price Indication Directive
98/6/EC) or have it added at checkout; a store without a row includes it.

Rates are percentages with two decimals (``19.00``, ``5.50``). The arithmetic (half-up per line
to cents) is :mod:`commerce.tax.calculation`; which rate applies to an order is
:mod:`commerce.tax.selectors`.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from commerce.stores.models import Vendor


class TaxClass(models.TextChoices):
    """What kind of supply a product (or a shipping method) is, for tax: ``standard`` (most
    goods), ``reduced`` (the country's reduced rate: food, books...), ``zero`` (0 % everywhere)."""

    STANDARD = "standard", "Standard rate"
    REDUCED = "reduced", "Reduced rate"
    ZERO = "zero", "Zero rate"


class TaxRate(models.Model):
    """``rate`` percent of value-added tax in ``country`` for ``tax_class`` from ``valid_from``
    (a date) until the next row of the same country and class. ``source`` names where the
    figure comes from."""

    country = CountryField()
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 19.00")
    valid_from = models.DateField()
    name = models.CharField(max_length=80, blank=True, help_text="As invoices name it, e.g. 'USt.' or 'TVA'")
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["country", "tax_class", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["country", "tax_class", "valid_from"], name="commerce_taxrate_unique"),
            models.CheckConstraint(condition=Q(rate__gte=Decimal("0")) & Q(rate__lt=Decimal("100")),
                                   name="commerce_taxrate_range"),
            models.CheckConstraint(condition=Q(tax_class__in=[TaxClass.STANDARD, TaxClass.REDUCED]),
                                   name="commerce_taxrate_class"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.tax_class} {self.rate} % from {self.valid_from}"


class StoreTaxSettings(models.Model):
    """How a store enters its prices: with the tax in them (``prices_include_tax``, the default)
    or without (the tax is added at checkout)."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, primary_key=True, related_name="tax_settings")
    prices_include_tax = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "store tax settings"

    def __str__(self) -> str:
        return f"{self.vendor_id}: prices {'include' if self.prices_include_tax else 'exclude'} tax"
