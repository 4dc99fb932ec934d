"""Delivery routes, included under ``/api/v1/``."""

from django.urls import path

from delivery import api

urlpatterns = [
    path("deliveries/", api.DeliveryListApi.as_view(), name="delivery-list"),
    path("deliveries/<uuid:delivery_id>/", api.DeliveryDetailApi.as_view(), name="delivery-detail"),
    path("deliveries/<uuid:delivery_id>/claim/", api.DeliveryClaimApi.as_view(), name="delivery-claim"),
    path("deliveries/<uuid:delivery_id>/self-deliver/", api.DeliverySelfDeliverApi.as_view(), name="delivery-self-deliver"),
    path("deliveries/<uuid:delivery_id>/status/", api.DeliveryStatusApi.as_view(), name="delivery-status"),
    path("deliveries/<uuid:delivery_id>/complete/", api.DeliveryCompleteApi.as_view(), name="delivery-complete"),
    path("deliveries/<uuid:delivery_id>/pin/reset/", api.DeliveryPinResetApi.as_view(), name="delivery-pin-reset"),
    path("deliveries/<uuid:delivery_id>/locations/", api.DeliveryLocationsApi.as_view(), name="delivery-locations"),
    path("couriers/me/", api.CourierProfileApi.as_view(), name="courier-profile"),
]
