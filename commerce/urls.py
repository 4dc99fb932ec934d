"""Commerce routes, included under ``/api/v1/``."""

from django.urls import path

from commerce import api, api_disputes, api_orders

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
    path("checkout/", api_orders.CheckoutApi.as_view(), name="checkout"),
    path("checkouts/<uuid:checkout_id>/", api_orders.CheckoutDetailApi.as_view(), name="checkout-detail"),
    path("checkouts/<uuid:checkout_id>/cancel/", api_orders.CheckoutCancelApi.as_view(), name="checkout-cancel"),
    path("orders/", api_orders.OrderListApi.as_view(), name="order-list"),
    path("vendor/orders/", api_orders.VendorOrderListApi.as_view(), name="vendor-order-list"),
    path("orders/<uuid:order_id>/", api_orders.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/status/", api_orders.OrderStatusApi.as_view(), name="order-status"),
    path("orders/<uuid:order_id>/cancel/", api_orders.OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<uuid:order_id>/payments/", api_orders.OrderPaymentsApi.as_view(), name="order-payments"),
    path("orders/<uuid:order_id>/refunds/", api_orders.OrderRefundsApi.as_view(), name="order-refunds"),
    path("orders/<uuid:order_id>/confirm-receipt/", api_orders.OrderConfirmReceiptApi.as_view(),
         name="order-confirm-receipt"),
    path("orders/<uuid:order_id>/disputes/", api_disputes.OrderDisputesApi.as_view(), name="order-disputes"),
    path("disputes/", api_disputes.DisputeListApi.as_view(), name="dispute-list"),
    path("disputes/queue/", api_disputes.DisputeQueueApi.as_view(), name="dispute-queue"),
    path("disputes/<uuid:dispute_id>/", api_disputes.DisputeDetailApi.as_view(), name="dispute-detail"),
    path("disputes/<uuid:dispute_id>/statements/", api_disputes.DisputeStatementsApi.as_view(),
         name="dispute-statements"),
    path("disputes/<uuid:dispute_id>/withdraw/", api_disputes.DisputeWithdrawApi.as_view(), name="dispute-withdraw"),
    path("disputes/<uuid:dispute_id>/resolve/", api_disputes.DisputeResolveApi.as_view(), name="dispute-resolve"),
    path("payments/webhooks/<slug:gateway>/", api_orders.PaymentWebhookApi.as_view(), name="payment-webhook"),
    path("wallet/", api_orders.WalletApi.as_view(), name="wallet"),
    path("wallet/ledger/", api_orders.WalletLedgerApi.as_view(), name="wallet-ledger"),
    path("wallet/deposits/", api_orders.WalletDepositApi.as_view(), name="wallet-deposits"),
]
