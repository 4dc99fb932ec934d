"""Routes of disputes (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.disputes import api

urlpatterns = [
    path("orders/<uuid:order_id>/disputes/", api.OrderDisputesApi.as_view(), name="order-disputes"),
    path("disputes/", api.DisputeListApi.as_view(), name="dispute-list"),
    path("disputes/queue/", api.DisputeQueueApi.as_view(), name="dispute-queue"),
    path("disputes/<uuid:dispute_id>/", api.DisputeDetailApi.as_view(), name="dispute-detail"),
    path("disputes/<uuid:dispute_id>/statements/", api.DisputeStatementsApi.as_view(),
         name="dispute-statements"),
    path("disputes/<uuid:dispute_id>/withdraw/", api.DisputeWithdrawApi.as_view(), name="dispute-withdraw"),
    path("disputes/<uuid:dispute_id>/resolve/", api.DisputeResolveApi.as_view(), name="dispute-resolve"),
]
