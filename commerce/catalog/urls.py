"""Routes of the catalogue (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.catalog import api, transfer_api

urlpatterns = [
    path("categories/", api.CategoryListApi.as_view(), name="category-list"),
    path("brands/", api.BrandListApi.as_view(), name="brand-list"),
    path("products/", api.ProductListCreateApi.as_view(), name="product-list"),
    path("products/<uuid:product_id>/", api.ProductDetailApi.as_view(), name="product-detail"),
    path("products/<uuid:product_id>/images/", api.ProductImageListApi.as_view(), name="product-images"),
    path("products/<uuid:product_id>/images/order/", api.ProductImageOrderApi.as_view(), name="product-images-order"),
    path("products/<uuid:product_id>/images/<int:image_id>/", api.ProductImageDetailApi.as_view(),
         name="product-image"),
    path("vendors/<uuid:vendor_id>/catalog-imports/", transfer_api.CatalogImportListApi.as_view(),
         name="catalog-import-list"),
    path("vendors/<uuid:vendor_id>/catalog-imports/<uuid:import_id>/", transfer_api.CatalogImportDetailApi.as_view(),
         name="catalog-import-detail"),
    path("vendors/<uuid:vendor_id>/catalog-imports/<uuid:import_id>/errors/",
         transfer_api.CatalogImportErrorsApi.as_view(), name="catalog-import-errors"),
    path("vendors/<uuid:vendor_id>/catalog-export/", transfer_api.CatalogExportApi.as_view(), name="catalog-export"),
]
