"""Routes of the stores room (included under ``/api/v1/`` by ``commerce.urls``)."""

from django.urls import path

from commerce.stores import api

urlpatterns = [
    path("vendors/", api.VendorListCreateApi.as_view(), name="vendor-list"),
    path("vendors/<uuid:vendor_id>/", api.VendorDetailApi.as_view(), name="vendor-detail"),
    path("vendors/<uuid:vendor_id>/logo/", api.VendorLogoApi.as_view(), name="vendor-logo"),
    path("vendors/<uuid:vendor_id>/pickup-point/", api.PickupPointApi.as_view(), name="vendor-pickup-point"),
    path("vendors/<uuid:vendor_id>/staff/", api.StaffListApi.as_view(), name="vendor-staff"),
    path("vendors/<uuid:vendor_id>/staff/<uuid:user_id>/", api.StaffMemberApi.as_view(), name="vendor-staff-member"),
    path("vendors/<uuid:vendor_id>/invitations/", api.InvitationListCreateApi.as_view(), name="vendor-invitations"),
    path("vendors/<uuid:vendor_id>/invitations/<uuid:invitation_id>/", api.InvitationDetailApi.as_view(),
         name="vendor-invitation"),
    path("store-invitations/preview/", api.InvitationPreviewApi.as_view(), name="store-invitation-preview"),
    path("store-invitations/accept/", api.InvitationAcceptApi.as_view(), name="store-invitation-accept"),
    path("store-invitations/decline/", api.InvitationDeclineApi.as_view(), name="store-invitation-decline"),
    path("vendors/<uuid:vendor_id>/activate/", api.VendorActivateApi.as_view(), name="vendor-activate"),
    path("vendors/<uuid:vendor_id>/suspend/", api.VendorSuspendApi.as_view(), name="vendor-suspend"),
]
