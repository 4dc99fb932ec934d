"""Chat routes, included under ``/api/v1/``. Conversation ids are matched as strings so that a
malformed id gets the same 403 ``forbidden`` as someone else's conversation."""

from django.urls import path

from chat import api

urlpatterns = [
    path("chat/conversations/", api.ConversationListCreateApi.as_view(), name="chat-conversation-list"),
    path("chat/unread/", api.UnreadApi.as_view(), name="chat-unread"),
    path("chat/conversations/<str:conversation_id>/", api.ConversationDetailApi.as_view(), name="chat-conversation-detail"),
    path("chat/conversations/<str:conversation_id>/messages/", api.MessageListCreateApi.as_view(), name="chat-message-list"),
    path("chat/conversations/<str:conversation_id>/messages/<int:seq>/", api.MessageDetailApi.as_view(), name="chat-message-detail"),
    path("chat/conversations/<str:conversation_id>/messages/<int:seq>/report/", api.ReportApi.as_view(), name="chat-message-report"),
    path("chat/conversations/<str:conversation_id>/read/", api.ReadApi.as_view(), name="chat-read"),
    path("chat/conversations/<str:conversation_id>/block/", api.BlockApi.as_view(), name="chat-block"),
    path("chat/conversations/<str:conversation_id>/attachments/", api.AttachmentUploadApi.as_view(), name="chat-attachment-list"),
    path(
        "chat/conversations/<str:conversation_id>/attachments/<str:attachment_id>/",
        api.AttachmentDetailApi.as_view(),
        name="chat-attachment-detail",
    ),
]
