"""REST views of support tickets (thin: input serializer → service or selector → output
serializer). Every endpoint needs a signed-in user (401). A ticket the caller may not see —
unknown or malformed ids too — is 404 ``ticket_not_found``; staff-only actions by anyone else on
a ticket they see are 403 ``forbidden``. Errors are ``{"code", "detail", "fields"?}``."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from core.exceptions import Forbidden, NotFound
from core.utils import parse_uuid
from support import selectors, services
from support.models import TicketAttachment
from support.permissions import can_work_ticket
from support.serializers import (
    TicketAssignInputSerializer,
    TicketAttachmentOutputSerializer,
    TicketAttachmentUploadInputSerializer,
    TicketHistoryOutputSerializer,
    TicketHistoryQuerySerializer,
    TicketMessageSendInputSerializer,
    TicketNoteInputSerializer,
    TicketNoteOutputSerializer,
    TicketQueueQuerySerializer,
    TicketReadInputSerializer,
    TicketReadOutputSerializer,
    TicketSendOutputSerializer,
    TicketOpenInputSerializer,
    TicketOutputSerializer,
    TicketUpdateInputSerializer,
    TicketTransitionInputSerializer,
)

TAGS = ["support"]
TICKET_ID = OpenApiParameter("ticket_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _ticket(ticket) -> dict:
    return TicketOutputSerializer(selectors.ticket_data(ticket)).data


def _attachment(att: TicketAttachment) -> dict:
    return TicketAttachmentOutputSerializer({
        "id": att.pk, "url": selectors.attachment_url(ticket_id=att.ticket_id, attachment_id=att.pk),
        "content_type": att.content_type, "size": att.size,
    }).data


class TicketListCreateApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = TicketOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.ticket_list(user=self.request.user)

    @extend_schema(tags=TAGS, summary="My tickets", description="The tickets the caller opened, newest first.",
                   responses={200: TicketOutputSerializer(many=True), **error_responses(401)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_ticket(t) for t in page])

    @extend_schema(
        tags=TAGS, summary="Open a ticket to the marketplace",
        description="As a buyer, as staff of a store (`role=store`, `vendor_id`) or as a courier, with a category, "
        "priority (low, normal, high), subject and first message, optionally linking an order, a delivery or a return "
        "(RMA) of yours. "
        "Codes: 400 `invalid`; 403 `not_store_staff`, `not_courier`; 404 `link_not_found`.",
        request=TicketOpenInputSerializer,
        responses={201: TicketOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        data = TicketOpenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_open(user=request.user, **data.validated_data)
        return Response(_ticket(selectors.tickets().get(pk=ticket.pk)), status=status.HTTP_201_CREATED)


class QueueApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = TicketOutputSerializer
    filter_backends: list = []

    @extend_schema(
        tags=TAGS, summary="The staff queue (support staff)",
        description="Active tickets (or `status`), most urgent first, then oldest. `view`: all, unassigned, mine; "
        "`overdue=true` for tickets past their first-response target. 403 `forbidden` for anyone but support staff.",
        parameters=[TicketQueueQuerySerializer],
        responses={200: TicketOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = TicketQueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.queue(user=request.user, **query.validated_data))
        return self.get_paginated_response([_ticket(t) for t in page])


class TicketDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="A ticket", parameters=[TICKET_ID],
                   responses={200: TicketOutputSerializer, **error_responses(401, 404)})
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket, _side = selectors.ticket_for(user=request.user, ticket_id=ticket_id)
        return Response(_ticket(ticket))

    @extend_schema(tags=TAGS, summary="Change priority or category (support staff)",
                   description="A new priority moves the first-response due time while nobody answered. "
                   "403 `forbidden` for the requester.",
                   parameters=[TICKET_ID], request=TicketUpdateInputSerializer,
                   responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request: Request, ticket_id: str) -> Response:
        data = TicketUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_ticket(services.ticket_update(user=request.user, ticket_id=ticket_id, **data.validated_data)))


class MessageListCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS, summary="The thread by anchors",
        description="Messages in ascending `seq`: `before=N` the newest below N, `after=N` the oldest above N. "
        "Internal notes are not part of the thread.",
        parameters=[TICKET_ID, TicketHistoryQuerySerializer],
        responses={200: TicketHistoryOutputSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket, _side = selectors.ticket_for(user=request.user, ticket_id=ticket_id)
        query = TicketHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(TicketHistoryOutputSerializer(selectors.message_history(ticket=ticket, **query.validated_data)).data)

    @extend_schema(
        tags=TAGS, summary="Write in the thread",
        description="Same as the socket command `send`: 201 new, 200 when `client_msg_id` was used before. Codes: 400 "
        "`invalid`, `invalid_image`; 404; 409 `ticket_not_open` (resolved or closed: reopen it).",
        parameters=[TICKET_ID], request=TicketMessageSendInputSerializer,
        responses={201: TicketSendOutputSerializer, 200: TicketSendOutputSerializer, **error_responses(400, 401, 404, 409)},
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        data = TicketMessageSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.message_send(user=request.user, ticket_id=ticket_id, **data.validated_data)
        body = TicketSendOutputSerializer({"message": selectors.message_data(result.message), "created": result.created}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Mark the thread read up to a seq", parameters=[TICKET_ID],
                   request=TicketReadInputSerializer, responses={200: TicketReadOutputSerializer, **error_responses(400, 401, 404)})
    def post(self, request: Request, ticket_id: str) -> Response:
        data = TicketReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(TicketReadOutputSerializer(services.mark_read(user=request.user, ticket_id=ticket_id,
                                                                **data.validated_data)).data)


class NoteListCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Internal notes (support staff)",
                   description="Never shown to the requester: 403 `forbidden` for them.",
                   parameters=[TICKET_ID], responses={200: TicketNoteOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket, _side = selectors.ticket_for(user=request.user, ticket_id=ticket_id)
        if not can_work_ticket(request.user, ticket):
            raise Forbidden("Only support staff read internal notes.", code="forbidden")
        return Response(TicketNoteOutputSerializer(selectors.notes_of(ticket=ticket), many=True).data)

    @extend_schema(tags=TAGS, summary="Add an internal note (support staff)", parameters=[TICKET_ID],
                   request=TicketNoteInputSerializer, responses={201: TicketNoteOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request: Request, ticket_id: str) -> Response:
        data = TicketNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.note_add(user=request.user, ticket_id=ticket_id, **data.validated_data)
        return Response(TicketNoteOutputSerializer(selectors.note_data(note)).data, status=status.HTTP_201_CREATED)


class AssignApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Assign to a support agent (support staff)",
                   description="Codes: 400 `not_an_agent`; 403 `forbidden`; 404.", parameters=[TICKET_ID],
                   request=TicketAssignInputSerializer, responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request: Request, ticket_id: str) -> Response:
        data = TicketAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_ticket(services.ticket_assign(user=request.user, ticket_id=ticket_id, **data.validated_data)))


class TransitionApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS, summary="Move the ticket's status",
        description="Support staff: any move of the map; the requester: `resolved`, `closed`, `open` (reopen within 7 "
        "days of the resolution). Codes: 403 `transition_not_allowed`; 404; 409 `invalid_transition` (with `from`, "
        "`to`, `allowed`).",
        parameters=[TICKET_ID], request=TicketTransitionInputSerializer,
        responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        data = TicketTransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_transition(user=request.user, ticket_id=ticket_id, to_status=data.validated_data["status"])
        return Response(_ticket(ticket))


class AttachmentUploadApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(tags=TAGS, summary="Upload an image to send",
                   description="Multipart field `file`; then send a message with `attachment_id`. Codes: 400 "
                   "`invalid_image`, `image_too_large`; 404; 409 `ticket_not_open`.",
                   parameters=[TICKET_ID], request={"multipart/form-data": TicketAttachmentUploadInputSerializer},
                   responses={201: TicketAttachmentOutputSerializer, **error_responses(400, 401, 404, 409)})
    def post(self, request: Request, ticket_id: str) -> Response:
        attachment = services.attachment_upload(user=request.user, ticket_id=ticket_id, file=request.FILES.get("file"))
        return Response(_attachment(attachment), status=status.HTTP_201_CREATED)


class AttachmentDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Download an image (requester and support staff)",
                   parameters=[TICKET_ID, OpenApiParameter("attachment_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **error_responses(401, 404)})
    def get(self, request: Request, ticket_id: str, attachment_id: str) -> FileResponse:
        ticket, _side = selectors.ticket_for(user=request.user, ticket_id=ticket_id)
        pk = parse_uuid(attachment_id)
        att = TicketAttachment.objects.filter(pk=pk, ticket_id=ticket.pk).first() if pk else None
        # an upload not sent yet is its uploader's only
        if att is None or (getattr(att, "message", None) is None and att.uploaded_by_id != request.user.pk):
            raise NotFound("Attachment not found.", code="attachment_not_found")
        try:
            handle = att.file.open("rb")
        except OSError:
            raise NotFound("Attachment not found.", code="attachment_not_found") from None
        return FileResponse(handle, content_type=att.content_type)
