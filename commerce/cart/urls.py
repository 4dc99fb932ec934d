"""Routes of the cart (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.cart import api

urlpatterns = [
    path("cart/", api.CartApi.as_view(), name="cart"),
    path("cart/items/", api.CartItemsApi.as_view(), name="cart-items"),
    path("cart/items/<uuid:item_id>/", api.CartItemDetailApi.as_view(), name="cart-item-detail"),
]
