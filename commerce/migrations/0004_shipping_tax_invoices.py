"""Issue 18 §4-5: tax rates and per-store tax settings, products' tax class, weight and
dimensions, shipping zones, methods and weight bands, orders' tax lines and shipping fee,
refunds' shipping part, invoices and credit notes with their gap-free counters.

Orders placed before keep what they were charged: every existing line gets ``net_total =
gross_total = line_total`` and no tax (nothing was charged as tax), every order ``tax_total``
0.00 and no shipping method (``shipping_total`` was always 0.00)."""

import commerce.invoices.models
import django.contrib.postgres.fields
import django.db.models.deletion
import django.db.models.expressions
import django_countries.fields
import uuid
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def fill_line_amounts(apps, schema_editor):
    """Lines placed before tax lines existed: what was charged is the gross and the net."""
    apps.get_model("commerce", "OrderLine").objects.update(net_total=F("line_total"), gross_total=F("line_total"))


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0003_escrow_protection_disputes_reconciliation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CreditNote',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('number', models.CharField(max_length=32)),
                ('year', models.PositiveSmallIntegerField()),
                ('sequence', models.PositiveIntegerField()),
                ('issued_at', models.DateTimeField()),
                ('currency', models.CharField(max_length=3)),
                ('seller', models.JSONField(default=dict)),
                ('buyer', models.JSONField(default=dict)),
                ('lines', models.JSONField(default=list)),
                ('rates', models.JSONField(default=list)),
                ('net_total', models.DecimalField(decimal_places=2, max_digits=14)),
                ('tax_total', models.DecimalField(decimal_places=2, max_digits=14)),
                ('gross_total', models.DecimalField(decimal_places=2, max_digits=14)),
                ('pdf', models.FileField(blank=True, storage=commerce.invoices.models.invoice_storage, upload_to='%Y')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('reason', models.CharField(blank=True, max_length=200)),
            ],
            options={
                'ordering': ['vendor', '-year', '-sequence'],
            },
        ),
        migrations.CreateModel(
            name='Invoice',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('number', models.CharField(max_length=32)),
                ('year', models.PositiveSmallIntegerField()),
                ('sequence', models.PositiveIntegerField()),
                ('issued_at', models.DateTimeField()),
                ('currency', models.CharField(max_length=3)),
                ('seller', models.JSONField(default=dict)),
                ('buyer', models.JSONField(default=dict)),
                ('lines', models.JSONField(default=list)),
                ('rates', models.JSONField(default=list)),
                ('net_total', models.DecimalField(decimal_places=2, max_digits=14)),
                ('tax_total', models.DecimalField(decimal_places=2, max_digits=14)),
                ('gross_total', models.DecimalField(decimal_places=2, max_digits=14)),
                ('pdf', models.FileField(blank=True, storage=commerce.invoices.models.invoice_storage, upload_to='%Y')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['vendor', '-year', '-sequence'],
            },
        ),
        migrations.CreateModel(
            name='InvoiceCounter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('invoice', 'Invoice'), ('credit_note', 'Credit note')], max_length=16)),
                ('year', models.PositiveSmallIntegerField()),
                ('last_number', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='ShippingMethod',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=100)),
                ('description', models.CharField(blank=True, max_length=300)),
                ('rule', models.CharField(choices=[('flat', 'Flat fee'), ('weight', 'By weight bands'), ('courier', 'Courier, by distance from the pickup point')], default='flat', max_length=16)),
                ('price', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='flat: the fee; courier: the base fee; weight: unused (bands)', max_digits=10)),
                ('currency', models.CharField(default='EUR', max_length=3)),
                ('free_above', models.DecimalField(blank=True, decimal_places=2, help_text="Free when the store's basket is worth at least this much", max_digits=12, null=True)),
                ('price_per_km', models.DecimalField(blank=True, decimal_places=2, help_text='courier: per started kilometre', max_digits=10, null=True)),
                ('max_distance_m', models.PositiveIntegerField(blank=True, help_text='courier: farthest address, metres', null=True)),
                ('volumetric_divisor', models.PositiveIntegerField(blank=True, help_text="weight: cm³ per kg for volumetric weight (5000 is the couriers' usual); empty: actual weight only", null=True)),
                ('min_days', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('max_days', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('tax_class', models.CharField(choices=[('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('zero', 'Zero rate')], default='standard', max_length=16)),
                ('is_active', models.BooleanField(default=True)),
                ('position', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['vendor', 'position', 'name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ShippingWeightBand',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('max_weight_g', models.PositiveIntegerField()),
                ('price', models.DecimalField(decimal_places=2, max_digits=10)),
            ],
            options={
                'ordering': ['method', 'max_weight_g'],
            },
        ),
        migrations.CreateModel(
            name='ShippingZone',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=100)),
                ('countries', django_countries.fields.CountryField(blank=True, max_length=746, multiple=True)),
                ('regions', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=100), blank=True, default=list, size=None)),
                ('postcodes', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=41), blank=True, default=list, size=None)),
                ('rest_of_world', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['vendor', 'name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='StoreTaxSettings',
            fields=[
                ('vendor', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='tax_settings', serialize=False, to='commerce.vendor')),
                ('prices_include_tax', models.BooleanField(default=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name_plural': 'store tax settings',
            },
        ),
        migrations.CreateModel(
            name='TaxRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('country', django_countries.fields.CountryField(max_length=2)),
                ('tax_class', models.CharField(choices=[('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('zero', 'Zero rate')], max_length=16)),
                ('rate', models.DecimalField(decimal_places=2, help_text='Percent, e.g. 19.00', max_digits=5)),
                ('valid_from', models.DateField()),
                ('name', models.CharField(blank=True, help_text="As invoices name it, e.g. 'USt.' or 'TVA'", max_length=80)),
                ('source', models.CharField(blank=True, max_length=300)),
            ],
            options={
                'ordering': ['country', 'tax_class', '-valid_from'],
            },
        ),
        migrations.AddField(
            model_name='order',
            name='prices_include_tax',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='order',
            name='shipping_method_data',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='order',
            name='shipping_net',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddField(
            model_name='order',
            name='shipping_tax',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddField(
            model_name='order',
            name='shipping_tax_class',
            field=models.CharField(blank=True, choices=[('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('zero', 'Zero rate')], max_length=16),
        ),
        migrations.AddField(
            model_name='order',
            name='shipping_tax_rate',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=5),
        ),
        migrations.AddField(
            model_name='order',
            name='tax_country',
            field=models.CharField(blank=True, help_text='ISO 3166-1 alpha-2 of the rates applied', max_length=2),
        ),
        migrations.AddField(
            model_name='order',
            name='tax_total',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddField(
            model_name='orderline',
            name='gross_total',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddField(
            model_name='orderline',
            name='net_total',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddField(
            model_name='orderline',
            name='tax_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddField(
            model_name='orderline',
            name='tax_class',
            field=models.CharField(choices=[('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('zero', 'Zero rate')], default='standard', max_length=16),
        ),
        migrations.AddField(
            model_name='orderline',
            name='tax_rate',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=5),
        ),
        migrations.AddField(
            model_name='product',
            name='height_mm',
            field=models.PositiveIntegerField(blank=True, help_text='Packed height of one unit, millimetres', null=True),
        ),
        migrations.AddField(
            model_name='product',
            name='length_mm',
            field=models.PositiveIntegerField(blank=True, help_text='Packed length of one unit, millimetres', null=True),
        ),
        migrations.AddField(
            model_name='product',
            name='tax_class',
            field=models.CharField(choices=[('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('zero', 'Zero rate')], default='standard', max_length=16),
        ),
        migrations.AddField(
            model_name='product',
            name='weight_g',
            field=models.PositiveIntegerField(blank=True, help_text='Shipping weight of one unit, grams', null=True),
        ),
        migrations.AddField(
            model_name='product',
            name='width_mm',
            field=models.PositiveIntegerField(blank=True, help_text='Packed width of one unit, millimetres', null=True),
        ),
        migrations.AddField(
            model_name='refund',
            name='shipping_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14),
        ),
        migrations.AddConstraint(
            model_name='orderline',
            constraint=models.CheckConstraint(condition=models.Q(('gross_total', django.db.models.expressions.CombinedExpression(models.F('net_total'), '+', models.F('tax_amount')))), name='commerce_orderline_tax_sum'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('shipping_amount__gte', 0), ('shipping_amount__lte', models.F('amount'))), name='commerce_refund_shipping_range'),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='refund',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='credit_note', to='commerce.refund'),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='commerce.vendor'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='order',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='invoice', to='commerce.order'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='commerce.vendor'),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='invoice',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_notes', to='commerce.invoice'),
        ),
        migrations.AddField(
            model_name='invoicecounter',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='commerce.vendor'),
        ),
        migrations.AddField(
            model_name='shippingmethod',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shipping_methods', to='commerce.vendor'),
        ),
        migrations.AddField(
            model_name='order',
            name='shipping_method',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='commerce.shippingmethod'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('total', django.db.models.expressions.CombinedExpression(models.F('subtotal'), '+', models.F('shipping_total')))), name='commerce_order_total_sum'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('shipping_total', django.db.models.expressions.CombinedExpression(models.F('shipping_net'), '+', models.F('shipping_tax')))), name='commerce_order_shipping_tax_sum'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('tax_total__gte', 0), ('tax_total__lte', models.F('total'))), name='commerce_order_tax_range'),
        ),
        migrations.AddField(
            model_name='shippingweightband',
            name='method',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='weight_bands', to='commerce.shippingmethod'),
        ),
        migrations.AddField(
            model_name='shippingzone',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shipping_zones', to='commerce.vendor'),
        ),
        migrations.AddField(
            model_name='shippingmethod',
            name='zone',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='methods', to='commerce.shippingzone'),
        ),
        migrations.AddConstraint(
            model_name='taxrate',
            constraint=models.UniqueConstraint(fields=('country', 'tax_class', 'valid_from'), name='commerce_taxrate_unique'),
        ),
        migrations.AddConstraint(
            model_name='taxrate',
            constraint=models.CheckConstraint(condition=models.Q(('rate__gte', Decimal('0')), ('rate__lt', Decimal('100'))), name='commerce_taxrate_range'),
        ),
        migrations.AddConstraint(
            model_name='taxrate',
            constraint=models.CheckConstraint(condition=models.Q(('tax_class__in', ['standard', 'reduced'])), name='commerce_taxrate_class'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.UniqueConstraint(fields=('vendor', 'year', 'sequence'), name='commerce_invoice_sequence_unique'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.UniqueConstraint(fields=('vendor', 'number'), name='commerce_invoice_number_unique'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(('net_total__gte', 0), ('tax_total__gte', 0), ('gross_total', django.db.models.expressions.CombinedExpression(models.F('net_total'), '+', models.F('tax_total')))), name='commerce_invoice_totals'),
        ),
        migrations.AddConstraint(
            model_name='creditnote',
            constraint=models.UniqueConstraint(fields=('vendor', 'year', 'sequence'), name='commerce_creditnote_sequence_unique'),
        ),
        migrations.AddConstraint(
            model_name='creditnote',
            constraint=models.UniqueConstraint(fields=('vendor', 'number'), name='commerce_creditnote_number_unique'),
        ),
        migrations.AddConstraint(
            model_name='creditnote',
            constraint=models.CheckConstraint(condition=models.Q(('net_total__gte', 0), ('tax_total__gte', 0), ('gross_total', django.db.models.expressions.CombinedExpression(models.F('net_total'), '+', models.F('tax_total')))), name='commerce_creditnote_totals'),
        ),
        migrations.AddConstraint(
            model_name='invoicecounter',
            constraint=models.UniqueConstraint(fields=('vendor', 'kind', 'year'), name='commerce_invoicecounter_unique'),
        ),
        migrations.AddConstraint(
            model_name='shippingweightband',
            constraint=models.UniqueConstraint(fields=('method', 'max_weight_g'), name='commerce_weightband_unique'),
        ),
        migrations.AddConstraint(
            model_name='shippingweightband',
            constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='commerce_weightband_price_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='shippingweightband',
            constraint=models.CheckConstraint(condition=models.Q(('max_weight_g__gt', 0)), name='commerce_weightband_max_gt_0'),
        ),
        migrations.AddConstraint(
            model_name='shippingzone',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('countries', ''), ('postcodes', []), ('regions', []), ('rest_of_world', True)), models.Q(('rest_of_world', False), models.Q(('countries', ''), _negated=True)), _connector='OR'), name='commerce_shippingzone_where'),
        ),
        migrations.AddIndex(
            model_name='shippingmethod',
            index=models.Index(fields=['vendor', 'is_active'], name='commerce_shipmethod_vendor'),
        ),
        migrations.AddConstraint(
            model_name='shippingmethod',
            constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='commerce_shipmethod_price_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='shippingmethod',
            constraint=models.CheckConstraint(condition=models.Q(('free_above__isnull', True), ('free_above__gte', 0), _connector='OR'), name='commerce_shipmethod_free_above_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='shippingmethod',
            constraint=models.CheckConstraint(condition=models.Q(('price_per_km__isnull', True), ('price_per_km__gte', 0), _connector='OR'), name='commerce_shipmethod_per_km_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='shippingmethod',
            constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='commerce_shipmethod_currency'),
        ),
        migrations.AddConstraint(
            model_name='shippingmethod',
            constraint=models.CheckConstraint(condition=models.Q(('rule__in', ['flat', 'weight', 'courier'])), name='commerce_shipmethod_rule_valid'),
        ),
        migrations.RunPython(fill_line_amounts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='orderline',
            name='gross_total',
            field=models.DecimalField(decimal_places=2, max_digits=14),
        ),
        migrations.AlterField(
            model_name='orderline',
            name='net_total',
            field=models.DecimalField(decimal_places=2, max_digits=14),
        ),
    ]
