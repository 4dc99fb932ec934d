"""Commerce routes, included under ``/api/v1/``."""

from django.urls import path

from commerce import api

urlpatterns = [
    path("vendors/", api.VendorListCreateApi.as_view(), name="vendor-list"),
    path("vendors/<uuid:vendor_id>/", api.VendorDetailApi.as_view(), name="vendor-detail"),
    path("vendors/<uuid:vendor_id>/activate/", api.VendorActivateApi.as_view(), name="vendor-activate"),
    path("vendors/<uuid:vendor_id>/suspend/", api.VendorSuspendApi.as_view(), name="vendor-suspend"),
    path("categories/", api.CategoryListApi.as_view(), name="category-list"),
    path("brands/", api.BrandListApi.as_view(), name="brand-list"),
    path("products/", api.ProductListCreateApi.as_view(), name="product-list"),
    path("products/<uuid:product_id>/", api.ProductDetailApi.as_view(), name="product-detail"),
    path("cart/", api.CartApi.as_view(), name="cart"),
    path("cart/items/", api.CartItemsApi.as_view(), name="cart-items"),
    path("cart/items/<uuid:item_id>/", api.CartItemDetailApi.as_view(), name="cart-item-detail"),
]
