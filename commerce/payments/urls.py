"""Routes of payments (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.payments import api

urlpatterns = [
    path("orders/<uuid:order_id>/payments/", api.OrderPaymentsApi.as_view(), name="order-payments"),
    path("orders/<uuid:order_id>/refunds/", api.OrderRefundsApi.as_view(), name="order-refunds"),
    path("orders/<uuid:order_id>/confirm-receipt/", api.OrderConfirmReceiptApi.as_view(),
         name="order-confirm-receipt"),
    path("payments/webhooks/<slug:gateway>/", api.PaymentWebhookApi.as_view(), name="payment-webhook"),
    path("wallet/deposits/", api.WalletDepositApi.as_view(), name="wallet-deposits"),
]
