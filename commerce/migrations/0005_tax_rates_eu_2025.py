"""Seed the tax rates of eight EU member states: the standard rate and one reduced rate each.

Source: European Commission, DG TAXUD, "VAT rates applied in the Member States of the European
Union", situation at 1 January 2025 (checked against two published copies of that table on
24 November 2026). ``valid_from`` is that date: the rows say "in force on 1 January 2025", not
when each rate began. Countries with several reduced rates get the one most goods of a
marketplace use: FR 5.5 % (food, books; 10 % is restaurants and transport), IT 10 %, ES 10 %,
PL 8 %, AT 10 %, BE 6 %. Marketplace staff add rows (a new ``valid_from``) when a rate changes.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

SOURCE = ("European Commission, DG TAXUD, 'VAT rates applied in the Member States of the European Union', "
          "situation at 1 January 2025")

#: country: (standard, reduced, the tax's name on invoices)
RATES = {
    "DE": ("19.00", "7.00", "USt."),
    "FR": ("20.00", "5.50", "TVA"),
    "AT": ("20.00", "10.00", "USt."),
    "NL": ("21.00", "9.00", "btw"),
    "IT": ("22.00", "10.00", "IVA"),
    "ES": ("21.00", "10.00", "IVA"),
    "PL": ("23.00", "8.00", "VAT"),
    "BE": ("21.00", "6.00", "btw/TVA"),
}


def seed(apps, schema_editor):
    TaxRate = apps.get_model("commerce", "TaxRate")
    for country, (standard, reduced, name) in RATES.items():
        for tax_class, rate in (("standard", standard), ("reduced", reduced)):
            TaxRate.objects.get_or_create(country=country, tax_class=tax_class, valid_from=date(2025, 1, 1),
                                          defaults={"rate": Decimal(rate), "name": name, "source": SOURCE})


def unseed(apps, schema_editor):
    apps.get_model("commerce", "TaxRate").objects.filter(valid_from=date(2025, 1, 1), source=SOURCE).delete()


class Migration(migrations.Migration):

    dependencies = [("commerce", "0004_shipping_tax_invoices")]

    operations = [migrations.RunPython(seed, unseed)]
