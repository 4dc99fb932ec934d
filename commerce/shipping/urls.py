"""Routes of the shipping room (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.shipping import api

urlpatterns = [
    path("vendors/<uuid:vendor_id>/shipping-zones/", api.ShippingZoneListApi.as_view(), name="shipping-zone-list"),
    path("vendors/<uuid:vendor_id>/shipping-zones/<uuid:zone_id>/", api.ShippingZoneDetailApi.as_view(),
         name="shipping-zone-detail"),
    path("vendors/<uuid:vendor_id>/shipping-methods/", api.ShippingMethodListApi.as_view(),
         name="shipping-method-list"),
    path("vendors/<uuid:vendor_id>/shipping-methods/<uuid:method_id>/", api.ShippingMethodDetailApi.as_view(),
         name="shipping-method-detail"),
]
