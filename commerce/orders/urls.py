"""Routes of checkout and orders (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.orders import api

urlpatterns = [
    path("checkout/", api.CheckoutApi.as_view(), name="checkout"),
    path("checkouts/<uuid:checkout_id>/", api.CheckoutDetailApi.as_view(), name="checkout-detail"),
    path("checkouts/<uuid:checkout_id>/cancel/", api.CheckoutCancelApi.as_view(), name="checkout-cancel"),
    path("orders/", api.OrderListApi.as_view(), name="order-list"),
    path("vendor/orders/", api.VendorOrderListApi.as_view(), name="vendor-order-list"),
    path("orders/<uuid:order_id>/", api.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/status/", api.OrderStatusApi.as_view(), name="order-status"),
    path("orders/<uuid:order_id>/cancel/", api.OrderCancelApi.as_view(), name="order-cancel"),
]
