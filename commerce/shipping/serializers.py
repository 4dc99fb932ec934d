"""Input and output serializers of the shipping API."""

from __future__ import annotations

from rest_framework import serializers

from core.fields import MoneyField, StrictIntegerField, TimestampField

from commerce.shipping.models import ShippingRule
from commerce.tax.models import TaxClass


class ShippingZoneInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    countries = serializers.ListField(child=serializers.CharField(max_length=2), required=False, max_length=250,
                                      help_text="ISO 3166-1 alpha-2 codes")
    regions = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=100,
                                    help_text="Only addresses whose region is one of these (case-insensitive)")
    postcodes = serializers.ListField(child=serializers.CharField(max_length=41), required=False, max_length=500,
                                      help_text="Only these postcodes: exact `10115`, prefix `10*`, range `10000-14999`")
    rest_of_world = serializers.BooleanField(required=False,
                                             help_text="Every country none of the store's other zones lists")

    def __init__(self, *args, partial_update: bool = False, **kwargs):
        super().__init__(*args, partial=partial_update, **kwargs)


class ShippingZoneOutputSerializer(serializers.Serializer):
    """A shipping zone (:class:`commerce.shipping.models.ShippingZone`)."""

    id = serializers.UUIDField()
    vendor_id = serializers.UUIDField()
    name = serializers.CharField()
    countries = serializers.SerializerMethodField()
    regions = serializers.ListField(child=serializers.CharField())
    postcodes = serializers.ListField(child=serializers.CharField())
    rest_of_world = serializers.BooleanField()
    created_at = TimestampField()
    updated_at = TimestampField()

    def get_countries(self, zone) -> list[str]:
        return [c.code for c in zone.countries]


class WeightBandSerializer(serializers.Serializer):
    max_weight_g = StrictIntegerField(min_value=1, max_value=1_000_000, help_text="Up to this weight, grams")
    price = MoneyField()


class ShippingMethodInputSerializer(serializers.Serializer):
    zone_id = serializers.UUIDField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    rule = serializers.ChoiceField(choices=ShippingRule.choices, required=False, help_text="Default flat")
    price = MoneyField(required=False, help_text="flat: the fee; courier: the base fee")
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="ISO 4217, default EUR")
    free_above = MoneyField(required=False, allow_null=True,
                            help_text="Free when the store's basket is worth at least this much")
    price_per_km = MoneyField(required=False, allow_null=True, help_text="courier: per started kilometre")
    max_distance_m = StrictIntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    volumetric_divisor = StrictIntegerField(min_value=100, max_value=100_000, required=False, allow_null=True,
                                            help_text="weight: cm³ per kg (5000 usual); empty: actual weight")
    weight_bands = WeightBandSerializer(many=True, required=False, help_text="weight: replaces the bands")
    min_days = StrictIntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    max_days = StrictIntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    tax_class = serializers.ChoiceField(choices=TaxClass.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    position = StrictIntegerField(min_value=0, max_value=10_000, required=False)

    def __init__(self, *args, partial_update: bool = False, **kwargs):
        super().__init__(*args, partial=partial_update, **kwargs)


class ShippingMethodOutputSerializer(serializers.Serializer):
    """A shipping method with its zone and weight bands."""

    id = serializers.UUIDField()
    vendor_id = serializers.UUIDField()
    zone = ShippingZoneOutputSerializer()
    name = serializers.CharField()
    description = serializers.CharField()
    rule = serializers.ChoiceField(choices=ShippingRule.choices)
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    free_above = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    price_per_km = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    max_distance_m = serializers.IntegerField(allow_null=True)
    volumetric_divisor = serializers.IntegerField(allow_null=True)
    weight_bands = serializers.SerializerMethodField()
    min_days = serializers.IntegerField(allow_null=True)
    max_days = serializers.IntegerField(allow_null=True)
    tax_class = serializers.ChoiceField(choices=TaxClass.choices)
    is_active = serializers.BooleanField()
    position = serializers.IntegerField()
    created_at = TimestampField()
    updated_at = TimestampField()

    def get_weight_bands(self, method) -> list[dict]:
        return [{"max_weight_g": b.max_weight_g, "price": f"{b.price:.2f}"}
                for b in sorted(method.weight_bands.all(), key=lambda b: b.max_weight_g)]
