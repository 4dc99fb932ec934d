"""REST API of the in-app inbox and notification preferences (``/api/v1/notifications/…``).

Errors have the project shape ``{"code", "detail", "fields"?}``. Another user's notification is
answered 404 ``not_found`` exactly like an unknown id, and nothing changes.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from core.pagination import NewestFirstCursorPagination
from core.schema import error_responses
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.serializers import (
    NotificationBulkResultSerializer,
    NotificationCountsSerializer,
    NotificationFilterSerializer,
    NotificationPreferencesSerializer,
    NotificationPreferencesUpdateSerializer,
    NotificationSerializer,
)

TAGS = ["notifications"]
NOT_FOUND = error_responses(404, e404="Unknown id, or another user's notification.")[404]
ID_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Notification id.")


NotificationCursorPagination = NewestFirstCursorPagination


class NotificationListApi(ListAPIView):
    serializer_class = NotificationSerializer
    pagination_class = NotificationCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        params = self.request.query_params.dict()
        if "kind" in params:  # ?kind=a&kind=b and ?kind=a,b both work
            params["kind"] = ",".join(self.request.query_params.getlist("kind"))
        filters = NotificationFilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        return selectors.notification_list(
            user=self.request.user, unread=f.get("unread"), archived=f.get("archived", False), kinds=f.get("kind")
        )

    @extend_schema(
        tags=TAGS,
        operation_id="notifications_list",
        summary="The signed-in user's notifications, newest first (cursor pagination).",
        parameters=[NotificationFilterSerializer],
        responses={200: NotificationSerializer(many=True), **error_responses(400, 401, 404, e404="Invalid cursor")},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationDetailApi(APIView):
    @extend_schema(tags=TAGS, operation_id="notifications_retrieve", parameters=[ID_PARAM],
                   responses={200: NotificationSerializer, 404: NOT_FOUND})
    def get(self, request: Request, id) -> Response:
        n = selectors.notification_get(user=request.user, notification_id=id)
        return Response(NotificationSerializer(n).data)


class NotificationCountsApi(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="notifications_counts",
        summary="Unread and unseen counts (the bell badge); live as `notification.counts` on `user:<id>`.",
        responses={200: NotificationCountsSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(NotificationCountsSerializer(selectors.counts(user=request.user)).data)


def _state_change_view(service, operation_id: str, summary: str) -> type[APIView]:
    class StateChangeApi(APIView):
        @extend_schema(tags=TAGS, operation_id=operation_id, summary=summary, request=None, parameters=[ID_PARAM],
                       responses={200: NotificationSerializer, 404: NOT_FOUND})
        def post(self, request: Request, id) -> Response:
            n = service(user=request.user, notification_id=id)
            return Response(NotificationSerializer(n).data, status=status.HTTP_200_OK)

    StateChangeApi.__name__ = StateChangeApi.__qualname__ = "".join(p.title() for p in operation_id.split("_")) + "Api"
    return StateChangeApi


NotificationReadApi = _state_change_view(
    services.mark_read, "notifications_read", "Mark read (and seen). Idempotent; pushes counts to every socket."
)
NotificationUnreadApi = _state_change_view(
    services.mark_unread, "notifications_unread", "Mark unread again. Idempotent; pushes counts to every socket."
)
NotificationArchiveApi = _state_change_view(
    services.archive, "notifications_archive", "Archive: leaves the inbox and the counts. Idempotent."
)
NotificationUnarchiveApi = _state_change_view(
    services.unarchive, "notifications_unarchive", "Bring an archived notification back. Idempotent."
)


class NotificationReadAllApi(APIView):
    @extend_schema(tags=TAGS, operation_id="notifications_read_all", request=None,
                   summary="Mark every unread notification read; pushes counts to every socket.",
                   responses={200: NotificationBulkResultSerializer})
    def post(self, request: Request) -> Response:
        return Response(NotificationBulkResultSerializer(services.mark_all_read(user=request.user)).data)


class NotificationSeenApi(APIView):
    @extend_schema(tags=TAGS, operation_id="notifications_seen", request=None,
                   summary="The bell was opened: everything is seen (`unseen` → 0); pushes counts.",
                   responses={200: NotificationBulkResultSerializer})
    def post(self, request: Request) -> Response:
        return Response(NotificationBulkResultSerializer(services.mark_seen(user=request.user)).data)


class NotificationPreferencesApi(APIView):
    @extend_schema(tags=TAGS, operation_id="notifications_preferences_retrieve",
                   summary="Per kind and channel (`in_app`, `email`) preferences, and the daily digest option.",
                   responses={200: NotificationPreferencesSerializer})
    def get(self, request: Request) -> Response:
        return Response(NotificationPreferencesSerializer(selectors.preferences_for(user=request.user)).data)

    @extend_schema(
        tags=TAGS,
        operation_id="notifications_preferences_update",
        summary="Change some preferences (all or nothing).",
        request=NotificationPreferencesUpdateSerializer,
        responses={
            200: NotificationPreferencesSerializer,
            **error_responses(400, 401, e400="`unknown_kind`, `unknown_channel`, `critical_kind` (a critical kind "
                              "cannot be switched off) or `invalid`."),
        },
    )
    def patch(self, request: Request) -> Response:
        body = NotificationPreferencesUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        prefs = services.update_preferences(
            user=request.user,
            channels=body.validated_data.get("channels"),
            email_digest=body.validated_data.get("email_digest"),
        )
        return Response(NotificationPreferencesSerializer(prefs).data)
