"""Routes of the catalogue (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.catalog import api

urlpatterns = [
    path("categories/", api.CategoryListApi.as_view(), name="category-list"),
    path("brands/", api.BrandListApi.as_view(), name="brand-list"),
    path("products/", api.ProductListCreateApi.as_view(), name="product-list"),
    path("products/<uuid:product_id>/", api.ProductDetailApi.as_view(), name="product-detail"),
]
