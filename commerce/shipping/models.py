"""Shipping: where each store ships (zones) and what it charges (methods with a rate rule).

A :class:`ShippingZone` is a set of destinations of one store: countries (django-countries),
optionally narrowed to regions or postcodes, or *the rest of the world* (every country none of
the store's other zones lists). A :class:`ShippingMethod` belongs to one zone and prices a
store's parcel with one rule:

* ``flat`` — ``price``;
* ``weight`` — the price of the first :class:`ShippingWeightBand` whose ``max_weight_g`` is at
  least the parcel's weight (bands cover ``(previous max, max]``; the first starts at 0 g);
  heavier than the last band: not offered. The parcel's weight is the sum of its products'
  ``weight_g`` (or, with ``volumetric_divisor``, each unit's volumetric weight when larger);
* ``courier`` — delivery by courier from the store's pickup point: ``price`` plus
  ``price_per_km`` for every started kilometre of great-circle distance to the address, up to
  ``max_distance_m``;

and with ``free_above`` set, any rule costs nothing once the store's basket is worth at least
that much (the "free above a basket value" rule: a ``flat`` method with ``free_above``).

Money in ``currency`` (``Decimal``, cents); weights in grams; lengths in millimetres; distances
in metres. Reads (which methods a parcel can use, and their prices) are
:mod:`commerce.shipping.selectors`; writes :mod:`commerce.shipping.services`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from commerce.common.money import DEFAULT_CURRENCY
from commerce.stores.models import Vendor
from commerce.tax.models import TaxClass


class ShippingZone(models.Model):
    """Destinations of one store. ``countries`` (ISO 3166-1 alpha-2); ``regions`` narrows them
    to addresses whose region is one of these (case-insensitive); ``postcodes`` to addresses
    whose postcode matches one pattern: exact (``10115``), prefix (``10*``) or an inclusive
    range of codes of the same length (``10000-14999``), compared without spaces, upper case.
    ``rest_of_world``: every country none of the store's other zones lists (then ``countries``,
    ``regions`` and ``postcodes`` are empty)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="shipping_zones")
    name = models.CharField(max_length=100)
    countries = CountryField(multiple=True, blank=True)
    regions = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    postcodes = ArrayField(models.CharField(max_length=41), default=list, blank=True)
    rest_of_world = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vendor", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(rest_of_world=True, countries="", regions=[], postcodes=[])
                           | (Q(rest_of_world=False) & ~Q(countries=""))),
                name="commerce_shippingzone_where",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'rest of world' if self.rest_of_world else ','.join(c.code for c in self.countries)})"


class ShippingRule(models.TextChoices):
    FLAT = "flat", "Flat fee"
    WEIGHT = "weight", "By weight bands"
    COURIER = "courier", "Courier, by distance from the pickup point"


class ShippingMethod(models.Model):
    """A way a store ships to one zone, priced by ``rule`` (see the module docstring). Only
    active methods are offered. ``min_days``/``max_days`` are the delivery time shown to
    buyers; ``tax_class`` is the tax of the fee."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="shipping_methods")
    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    rule = models.CharField(max_length=16, choices=ShippingRule.choices, default=ShippingRule.FLAT)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"),
                                help_text="flat: the fee; courier: the base fee; weight: unused (bands)")
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    free_above = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                     help_text="Free when the store's basket is worth at least this much")
    price_per_km = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                       help_text="courier: per started kilometre")
    max_distance_m = models.PositiveIntegerField(null=True, blank=True, help_text="courier: farthest address, metres")
    volumetric_divisor = models.PositiveIntegerField(
        null=True, blank=True, help_text="weight: cm³ per kg for volumetric weight (5000 is the couriers' usual); "
        "empty: actual weight only")
    min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vendor", "position", "name", "id"]
        indexes = [models.Index(fields=["vendor", "is_active"], name="commerce_shipmethod_vendor")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="commerce_shipmethod_price_gte_0"),
            models.CheckConstraint(condition=Q(free_above__isnull=True) | Q(free_above__gte=0),
                                   name="commerce_shipmethod_free_above_gte_0"),
            models.CheckConstraint(condition=Q(price_per_km__isnull=True) | Q(price_per_km__gte=0),
                                   name="commerce_shipmethod_per_km_gte_0"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="commerce_shipmethod_currency"),
            models.CheckConstraint(condition=Q(rule__in=[r.value for r in ShippingRule]),
                                   name="commerce_shipmethod_rule_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rule})"


class ShippingWeightBand(models.Model):
    """A weight band of a ``weight`` method: parcels up to ``max_weight_g`` grams (and above the
    previous band's maximum) cost ``price``."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="weight_bands")
    max_weight_g = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["method", "max_weight_g"]
        constraints = [
            models.UniqueConstraint(fields=["method", "max_weight_g"], name="commerce_weightband_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="commerce_weightband_price_gte_0"),
            models.CheckConstraint(condition=Q(max_weight_g__gt=0), name="commerce_weightband_max_gt_0"),
        ]

    def __str__(self) -> str:
        return f"<= {self.max_weight_g} g: {self.price}"
