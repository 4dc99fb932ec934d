"""Routes of returns (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.returns import api

urlpatterns = [
    path("orders/<uuid:order_id>/returns/", api.OrderReturnsApi.as_view(), name="order-returns"),
    path("orders/<uuid:order_id>/returnable/", api.OrderReturnableApi.as_view(), name="order-returnable"),
    path("returns/", api.ReturnListApi.as_view(), name="return-list"),
    path("returns/photos/", api.ReturnPhotoUploadApi.as_view(), name="return-photo-upload"),
    path("returns/photos/<uuid:photo_id>/", api.ReturnPhotoDetailApi.as_view(), name="return-photo-detail"),
    path("returns/<uuid:return_id>/", api.ReturnDetailApi.as_view(), name="return-detail"),
    path("returns/<uuid:return_id>/approve/", api.ReturnApproveApi.as_view(), name="return-approve"),
    path("returns/<uuid:return_id>/reject/", api.ReturnRejectApi.as_view(), name="return-reject"),
    path("returns/<uuid:return_id>/cancel/", api.ReturnCancelApi.as_view(), name="return-cancel"),
    path("returns/<uuid:return_id>/ship/", api.ReturnShipApi.as_view(), name="return-ship"),
    path("returns/<uuid:return_id>/receive/", api.ReturnReceiveApi.as_view(), name="return-receive"),
    path("returns/<uuid:return_id>/inspect/", api.ReturnInspectApi.as_view(), name="return-inspect"),
    path("returns/<uuid:return_id>/refund/", api.ReturnRefundApi.as_view(), name="return-refund"),
    path("returns/<uuid:return_id>/escalate/", api.ReturnEscalateApi.as_view(), name="return-escalate"),
    path("vendors/<uuid:vendor_id>/return-policy/", api.ReturnPolicyApi.as_view(), name="vendor-return-policy"),
]
