"""Accounts routes, included at ``/api/v1/`` (see ``core.api`` for codes)."""

from django.urls import path

from core import api

urlpatterns = [
    path("auth/register/", api.RegisterApi.as_view(), name="auth-register"),
    path("auth/token/", api.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", api.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", api.LogoutApi.as_view(), name="auth-logout"),
    path("auth/password-reset/", api.PasswordResetApi.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm/", api.PasswordResetConfirmApi.as_view(), name="auth-password-reset-confirm"),
    path("me/", api.MeApi.as_view(), name="me"),
    path("me/addresses/", api.AddressListCreateApi.as_view(), name="me-addresses"),
    path("me/addresses/<str:address_id>/", api.AddressDetailApi.as_view(), name="me-address-detail"),
]
