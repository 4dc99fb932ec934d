"""The pickup point moves to the store (commerce.stores.PickupPoint, issue 18): every existing row
is copied (coordinates rounded to 6 places, its free-text address kept as the point's description,
source ``manual``), then delivery's table is dropped. Deliveries keep their own pickup_lat/lon."""

from decimal import Decimal

from django.db import migrations

SIX_PLACES = Decimal("0.000001")


def copy_to_stores(apps, schema_editor):
    old = apps.get_model("delivery", "PickupPoint")
    new = apps.get_model("commerce", "PickupPoint")
    rows = [
        new(vendor_id=p.vendor_id, source="manual", description=(p.address or "")[:300],
            latitude=Decimal(str(p.latitude)).quantize(SIX_PLACES), longitude=Decimal(str(p.longitude)).quantize(SIX_PLACES))
        for p in old.objects.all().iterator()
    ]
    new.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def copy_back(apps, schema_editor):
    old = apps.get_model("delivery", "PickupPoint")
    new = apps.get_model("commerce", "PickupPoint")
    old.objects.bulk_create(
        [old(vendor_id=p.vendor_id, latitude=float(p.latitude), longitude=float(p.longitude), address=p.description)
         for p in new.objects.filter(latitude__isnull=False).iterator()],
        batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("delivery", "0002_delivery_attempts_mode_cancelled"),
        ("commerce", "0004_store_profile_roles_pickup_invitations"),
    ]

    operations = [
        migrations.RunPython(copy_to_stores, copy_back),
        migrations.DeleteModel(name="PickupPoint"),
    ]
