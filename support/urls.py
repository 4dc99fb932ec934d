"""Support routes, under ``/api/v1/``. Ticket ids are matched as strings so that a malformed id
gets the same 404 ``ticket_not_found`` as someone else's ticket."""

from django.urls import path

from support import api

urlpatterns = [
    path("support/tickets/", api.TicketListCreateApi.as_view(), name="support-ticket-list"),
    path("support/queue/", api.QueueApi.as_view(), name="support-queue"),
    path("support/tickets/<str:ticket_id>/", api.TicketDetailApi.as_view(), name="support-ticket-detail"),
    path("support/tickets/<str:ticket_id>/messages/", api.MessageListCreateApi.as_view(), name="support-message-list"),
    path("support/tickets/<str:ticket_id>/read/", api.ReadApi.as_view(), name="support-read"),
    path("support/tickets/<str:ticket_id>/notes/", api.NoteListCreateApi.as_view(), name="support-note-list"),
    path("support/tickets/<str:ticket_id>/assign/", api.AssignApi.as_view(), name="support-assign"),
    path("support/tickets/<str:ticket_id>/transition/", api.TransitionApi.as_view(), name="support-transition"),
    path("support/tickets/<str:ticket_id>/attachments/", api.AttachmentUploadApi.as_view(), name="support-attachment-list"),
    path("support/tickets/<str:ticket_id>/attachments/<str:attachment_id>/", api.AttachmentDetailApi.as_view(),
         name="support-attachment-detail"),
]
