"""Stores that sold before shipping methods existed keep selling as they did: each gets a
rest-of-world zone with one free flat method, "Standard shipping" (what every order was
charged before: ``shipping_total`` 0.00; one per currency its products are priced in), which its
owner then changes. New stores set up
their own methods before their first sale (checkout needs one per store)."""

from django.db import migrations


def create_default_methods(apps, schema_editor):
    Vendor = apps.get_model("commerce", "Vendor")
    ShippingZone = apps.get_model("commerce", "ShippingZone")
    ShippingMethod = apps.get_model("commerce", "ShippingMethod")
    Product = apps.get_model("commerce", "Product")
    for vendor in Vendor.objects.exclude(shipping_zones__isnull=False):
        zone = ShippingZone.objects.create(vendor=vendor, name="Everywhere", rest_of_world=True)
        currencies = sorted(set(Product.objects.filter(vendor=vendor).values_list("currency", flat=True))) or ["EUR"]
        for currency in currencies:
            ShippingMethod.objects.create(vendor=vendor, zone=zone, name="Standard shipping", rule="flat",
                                          price="0.00", currency=currency)


class Migration(migrations.Migration):

    dependencies = [("commerce", "0005_tax_rates_eu_2025")]

    operations = [migrations.RunPython(create_default_methods, migrations.RunPython.noop)]
