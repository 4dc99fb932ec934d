"""Routes of the tax room (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.tax import api

urlpatterns = [
    path("tax-rates/", api.TaxRateListApi.as_view(), name="tax-rate-list"),
    path("vendors/<uuid:vendor_id>/tax-settings/", api.StoreTaxSettingsApi.as_view(), name="vendor-tax-settings"),
]
