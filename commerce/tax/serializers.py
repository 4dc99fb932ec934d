"""Input and output serializers of the tax API."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import TimestampField

from commerce.tax.models import TaxClass


class TaxRateOutputSerializer(serializers.Serializer):
    """A :class:`commerce.tax.models.TaxRate`."""

    country = serializers.CharField(source="country.code", help_text="ISO 3166-1 alpha-2")
    tax_class = serializers.ChoiceField(choices=TaxClass.choices)
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent")
    valid_from = serializers.DateField()
    name = serializers.CharField()
    source = serializers.CharField()


class TaxRateListInputSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, help_text="ISO 3166-1 alpha-2")
    on = serializers.DateField(required=False, help_text="Only the rates in force on this day")


class StoreTaxSettingsOutputSerializer(serializers.Serializer):
    """A store's tax settings (:class:`commerce.tax.models.StoreTaxSettings`)."""

    vendor_id = serializers.UUIDField()
    prices_include_tax = serializers.BooleanField(
        help_text="True: the store's prices are gross (tax included); false: tax is added at checkout")
    updated_at = TimestampField(allow_null=True)


class StoreTaxSettingsInputSerializer(serializers.Serializer):
    prices_include_tax = serializers.BooleanField()
