"""``/api/v1/notifications/…`` (included by ``core.urls``)."""

from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="notifications-list"),
    path("notifications/counts/", api.NotificationCountsApi.as_view(), name="notifications-counts"),
    path("notifications/read-all/", api.NotificationReadAllApi.as_view(), name="notifications-read-all"),
    path("notifications/seen/", api.NotificationSeenApi.as_view(), name="notifications-seen"),
    path("notifications/preferences/", api.NotificationPreferencesApi.as_view(), name="notifications-preferences"),
    path("notifications/<uuid:id>/", api.NotificationDetailApi.as_view(), name="notifications-detail"),
    path("notifications/<uuid:id>/read/", api.NotificationReadApi.as_view(), name="notifications-read"),
    path("notifications/<uuid:id>/unread/", api.NotificationUnreadApi.as_view(), name="notifications-unread"),
    path("notifications/<uuid:id>/archive/", api.NotificationArchiveApi.as_view(), name="notifications-archive"),
    path("notifications/<uuid:id>/unarchive/", api.NotificationUnarchiveApi.as_view(), name="notifications-unarchive"),
]
