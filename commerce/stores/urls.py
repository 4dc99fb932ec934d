"""Routes of the stores room (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.stores import api

urlpatterns = [
    path("vendors/", api.VendorListCreateApi.as_view(), name="vendor-list"),
    path("vendors/<uuid:vendor_id>/", api.VendorDetailApi.as_view(), name="vendor-detail"),
    path("vendors/<uuid:vendor_id>/activate/", api.VendorActivateApi.as_view(), name="vendor-activate"),
    path("vendors/<uuid:vendor_id>/suspend/", api.VendorSuspendApi.as_view(), name="vendor-suspend"),
]
