"""Catalogue filters (django-filter) and a stable ordering backend.

``GET /api/v1/products/`` query parameters:

- ``category=<id>``: the category **and all its descendants**;
- ``vendor=<uuid>``, ``brand=<id>``, ``currency=EUR``;
- ``min_price`` / ``max_price``: inclusive bounds, decimals (``12.50``);
- ``in_stock=true|false``: stock > 0 or = 0;
- ``attr=<key>:<value>`` (repeatable, all must match): ``attributes[key]`` equals ``value``
  (compared as a string; also as a number when ``value`` is numeric and as a boolean for
  ``true``/``false``) or, for a list attribute, contains it. Exact and case-sensitive, e.g.
  ``attr=material:steel&attr=fits:Golf VII``;
- ``min_rating=<1..5>``: products whose average rating (visible reviews) is at least that
  (products without reviews are left out);
- ``search=<text>``: case-insensitive substring of name or SKU;
- ``ordering=price|-price|created_at|-created_at|name|-name|rating|-rating`` (default
  ``-created_at``); by rating, products without reviews come last either way, ties by the number
  of reviews (more first).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import django_filters
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from rest_framework import serializers
from rest_framework.filters import OrderingFilter

from commerce.catalog.models import Product
from commerce.catalog.selectors import category_descendant_ids

MAX_ATTR_FILTERS = 10


def _attr_values(raw: str) -> list:
    values: list = [raw]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        values.append(lowered == "true")
    try:
        num = Decimal(raw)
    except InvalidOperation:
        num = None
    if num is not None and num.is_finite() and len(raw) <= 30:
        values.append(int(num) if num == num.to_integral_value() else float(num))
    return values


def attribute_q(pairs: list[str]) -> Q:
    """Q object for ``attr=key:value`` pairs (see the module docstring). Raises DRF
    ``ValidationError`` (400) for a pair without ``:`` or more than 10 pairs."""
    if len(pairs) > MAX_ATTR_FILTERS:
        raise serializers.ValidationError({"attr": [f"At most {MAX_ATTR_FILTERS} attribute filters."]})
    q = Q()
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key or len(key) > 64 or len(value) > 500:
            raise serializers.ValidationError({"attr": ["Use attr=<key>:<value>."]})
        one = Q()
        for v in _attr_values(value):
            one |= Q(attributes__contains={key: v}) | Q(attributes__contains={key: [v]})
        q &= one
    return q


class ProductFilter(django_filters.FilterSet):
    category = django_filters.NumberFilter(method="filter_category", help_text="Category id; includes descendants")
    vendor = django_filters.UUIDFilter(field_name="vendor_id")
    brand = django_filters.NumberFilter(field_name="brand_id")
    currency = django_filters.CharFilter(field_name="currency")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", max_digits=14, decimal_places=2)
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", max_digits=14, decimal_places=2)
    in_stock = django_filters.BooleanFilter(method="filter_in_stock", help_text="true: stock > 0; false: stock = 0")
    attr = django_filters.CharFilter(
        method="filter_attr", help_text="<key>:<value>, repeatable (AND), e.g. attr=material:steel"
    )
    min_rating = django_filters.NumberFilter(method="filter_min_rating", min_value=1, max_value=5, max_digits=3,
                                             decimal_places=2, help_text="average rating at least this (1-5)")

    class Meta:
        model = Product
        fields = ["category", "vendor", "brand", "currency", "min_price", "max_price", "in_stock", "attr", "min_rating"]

    def filter_category(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        if value != int(value) or not 0 < value < 2**63:
            return queryset.none()
        return queryset.filter(category_id__in=category_descendant_ids(int(value)))

    def filter_in_stock(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)

    def filter_min_rating(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        # average >= value  <=>  sum >= value * count (exact in integers and decimals, no division)
        return queryset.filter(rating_count__gt=0, rating_sum__gte=F("rating_count") * value)

    def filter_attr(self, queryset: QuerySet, name: str, value) -> QuerySet:
        pairs = [p for p in self.data.getlist("attr")] if hasattr(self.data, "getlist") else [value]
        pairs = [p for p in pairs if p]
        return queryset.filter(attribute_q(pairs)) if pairs else queryset


class StableOrderingFilter(OrderingFilter):
    """``ordering`` with ``id`` appended as a tie-breaker, so limit/offset pages never overlap."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if "id" not in ordering and "-id" not in ordering:
            ordering.append("id")
        return ordering

    def filter_queryset(self, request, queryset, view):
        """Order as asked; ``rating``/``-rating`` by the average rating with unrated products last
        either way, then more reviews first."""
        terms: list = []
        for term in self.get_ordering(request, queryset, view):
            if term.lstrip("-") != "rating":
                terms.append(term)
                continue
            queryset = queryset.annotate(rating_average=Case(
                When(rating_count=0, then=Value(None)),
                default=Cast(F("rating_sum"), FloatField()) / F("rating_count"), output_field=FloatField(),
            ))
            average = F("rating_average")
            terms += [average.desc(nulls_last=True) if term.startswith("-") else average.asc(nulls_last=True),
                      "-rating_count"]
        return queryset.order_by(*terms)
