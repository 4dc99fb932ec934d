"""Routes of the payouts room (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.payouts import api

urlpatterns = [
    path("vendors/<uuid:vendor_id>/payout-account/", api.PayoutAccountApi.as_view(), name="payout-account"),
    path("vendors/<uuid:vendor_id>/payout-account/verify/", api.PayoutAccountVerifyApi.as_view(),
         name="payout-account-verify"),
    path("vendors/<uuid:vendor_id>/payout-account/reject/", api.PayoutAccountRejectApi.as_view(),
         name="payout-account-reject"),
    path("vendors/<uuid:vendor_id>/withdrawals/", api.WithdrawalListCreateApi.as_view(), name="vendor-withdrawals"),
    path("vendors/<uuid:vendor_id>/withdrawals/<uuid:withdrawal_id>/", api.WithdrawalDetailApi.as_view(),
         name="vendor-withdrawal"),
    path("vendors/<uuid:vendor_id>/withdrawals/<uuid:withdrawal_id>/cancel/", api.WithdrawalCancelApi.as_view(),
         name="vendor-withdrawal-cancel"),
    path("payouts/withdrawals/", api.WithdrawalQueueApi.as_view(), name="payout-withdrawal-queue"),
    path("payouts/withdrawals/<uuid:withdrawal_id>/approve/", api.WithdrawalApproveApi.as_view(),
         name="payout-withdrawal-approve"),
    path("payouts/withdrawals/<uuid:withdrawal_id>/pay/", api.WithdrawalPayApi.as_view(), name="payout-withdrawal-pay"),
    path("payouts/withdrawals/<uuid:withdrawal_id>/reject/", api.WithdrawalRejectApi.as_view(),
         name="payout-withdrawal-reject"),
    path("payouts/accounts/", api.PayoutAccountQueueApi.as_view(), name="payout-account-queue"),
]
