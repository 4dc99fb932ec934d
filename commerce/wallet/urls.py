"""Routes of the wallet (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.wallet import api

urlpatterns = [
    path("wallet/", api.WalletApi.as_view(), name="wallet"),
    path("wallet/ledger/", api.WalletLedgerApi.as_view(), name="wallet-ledger"),
]
