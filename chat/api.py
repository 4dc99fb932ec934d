"""REST views of the chat (thin: validate input, call a service or selector, render with
``chat.serializers``).

Every endpoint needs a signed-in user (401 ``not_authenticated`` otherwise). A conversation the
caller does not take part in — or that does not exist, or whose id is malformed — is always
403 ``forbidden``. Errors are ``{"code", "detail", "fields"?}``.
"""

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

from chat import selectors, services
from chat.models import ChatAttachment
from chat.permissions import chat_side
from chat.serializers import (
    AttachmentOutputSerializer,
    AttachmentUploadInputSerializer,
    BlockOutputSerializer,
    ConversationOutputSerializer,
    ConversationStartInputSerializer,
    HistoryOutputSerializer,
    HistoryQuerySerializer,
    MessageEditInputSerializer,
    MessageOutputSerializer,
    MessageSendInputSerializer,
    ReadInputSerializer,
    ReadOutputSerializer,
    ReportInputSerializer,
    ReportOutputSerializer,
    SendOutputSerializer,
    UnreadOutputSerializer,
)
from core.schema import error_responses
from core.utils import parse_uuid
from core.exceptions import NotFound

TAGS = ["chat"]


def _errors(*codes: int) -> dict:
    """:func:`core.schema.error_responses` with the chat's meaning of 403 (not a participant)."""
    return error_responses(*codes, e403="`forbidden` (not a participant, unknown or malformed id) or a domain code")


CONVERSATION_ID = OpenApiParameter("conversation_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
SEQ = OpenApiParameter("seq", OpenApiTypes.INT, OpenApiParameter.PATH, description="the message's seq")


class ConversationListCreateApi(generics.GenericAPIView):
    """GET /chat/conversations/ (200, paginated); POST (201 new, 200 existing)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ConversationOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.conversation_list(user=self.request.user)

    @extend_schema(
        tags=TAGS,
        summary="My conversations",
        description="Conversations the caller takes part in (as the buyer or as staff of the vendor), the one with "
        "the newest message first (conversations without messages last). Each has a preview of the last message "
        "(masked, 140 characters) and the caller's unread count.",
        responses={200: ConversationOutputSerializer(many=True), **_errors(401)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = [selectors.conversation_data(c, side=chat_side(request.user, c)) for c in page]
        return self.get_paginated_response(data)

    @extend_schema(
        tags=TAGS,
        summary="Open a conversation with a vendor",
        description="One conversation per buyer, vendor and context: asking again returns the existing one (200). "
        "The context is a product, an auction or one of your orders of that vendor. Codes: 400 `invalid`, "
        "`own_vendor`, `context_type_unavailable` (a deployment without that app); "
        "403 `blocked`; 404 `vendor_not_found`, `context_not_found`.",
        request=ConversationStartInputSerializer,
        responses={201: ConversationOutputSerializer, 200: ConversationOutputSerializer, **_errors(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        data = ConversationStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.conversation_start(
            user=request.user, vendor_id=v["vendor_id"], context_type=v["context"]["type"], context_id=v["context"]["id"]
        )
        body = selectors.conversation_detail(user=request.user, conversation_id=result.conversation.pk)
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ConversationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="A conversation", parameters=[CONVERSATION_ID],
                   responses={200: ConversationOutputSerializer, **_errors(401, 403)})
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(selectors.conversation_detail(user=request.user, conversation_id=conversation_id))


class MessageListCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Message history by anchors",
        description="Messages in ascending `seq`. `before=N`: the `limit` newest with seq < N; `after=N`: the "
        "`limit` oldest with seq > N; neither: the newest. Page back with `before=<first seq>` and forward with "
        "`after=<last seq>`: no gap, no overlap. 400 `invalid` for both anchors or bad numbers.",
        parameters=[
            CONVERSATION_ID,
            OpenApiParameter("before", OpenApiTypes.INT, description="messages with seq < before"),
            OpenApiParameter("after", OpenApiTypes.INT, description="messages with seq > after"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1–200, default 50"),
        ],
        responses={200: HistoryOutputSerializer, **_errors(400, 401, 403)},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation, _side = selectors.conversation_for(user=request.user, conversation_id=conversation_id)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.message_history(conversation=conversation, **query.validated_data))

    @extend_schema(
        tags=TAGS,
        summary="Send a message",
        description="Same as the socket command `send`. 201 with the new message; 200 with the stored one when "
        "`client_msg_id` was used before (a retry). Contact details are masked for participants. Codes: 400 "
        "`invalid`, `invalid_image`; 403 `forbidden`, `blocked`; 429 `rate_limited`.",
        parameters=[CONVERSATION_ID],
        request=MessageSendInputSerializer,
        responses={201: SendOutputSerializer, 200: SendOutputSerializer, **_errors(400, 401, 403, 429)},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        data = MessageSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.message_send(user=request.user, conversation_id=conversation_id, **data.validated_data)
        return Response(SendOutputSerializer(result).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class MessageDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Edit a message (sender, within 10 minutes)",
        description="Codes: 400 `invalid`; 403 `forbidden`, `not_sender`, `blocked`; 404 `message_not_found`; "
        "409 `edit_window_passed`, `message_deleted`.",
        parameters=[CONVERSATION_ID, SEQ],
        request=MessageEditInputSerializer,
        responses={200: MessageOutputSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, conversation_id: str, seq: int) -> Response:
        data = MessageEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_edit(user=request.user, conversation_id=conversation_id, seq=seq, **data.validated_data)
        return Response(selectors.message_data(message))

    @extend_schema(
        tags=TAGS,
        summary="Delete a message (sender)",
        description="The message stays in the history as deleted (no text). Idempotent. Codes: 403 `forbidden`, "
        "`not_sender`; 404 `message_not_found`.",
        parameters=[CONVERSATION_ID, SEQ],
        request=None,
        responses={200: MessageOutputSerializer, **_errors(400, 401, 403, 404)},
    )
    def delete(self, request: Request, conversation_id: str, seq: int) -> Response:
        message = services.message_delete(user=request.user, conversation_id=conversation_id, seq=seq)
        return Response(selectors.message_data(message))


class ReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Mark read up to a seq",
        description="Moves the caller's read pointer forward (never back); the other side gets `chat.read`, the "
        "caller's devices `chat.unread` on `user:<id>`.",
        parameters=[CONVERSATION_ID],
        request=ReadInputSerializer,
        responses={200: ReadOutputSerializer, **_errors(400, 401, 403)},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        data = ReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.conversation_mark_read(user=request.user, conversation_id=conversation_id, **data.validated_data)
        return Response(ReadOutputSerializer(result).data)


class BlockApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Block the other side",
        description="The buyer blocks the store, or the store's staff block the buyer, in all their conversations: "
        "no one can send until the block is lifted (403 `blocked`). Idempotent.",
        parameters=[CONVERSATION_ID],
        request=None,
        responses={200: BlockOutputSerializer, **_errors(401, 403)},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        return Response(BlockOutputSerializer(services.conversation_block(user=request.user, conversation_id=conversation_id)).data)

    @extend_schema(
        tags=TAGS, summary="Lift your side's block", parameters=[CONVERSATION_ID], request=None,
        responses={200: BlockOutputSerializer, **_errors(401, 403)},
    )
    def delete(self, request: Request, conversation_id: str) -> Response:
        return Response(BlockOutputSerializer(services.conversation_unblock(user=request.user, conversation_id=conversation_id)).data)


class ReportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Report a message of the other side",
        description="Goes to the staff queue (admin). Codes: 400 `invalid`, `own_message`; 403 `forbidden`; "
        "404 `message_not_found`; 409 `already_reported`.",
        parameters=[CONVERSATION_ID, SEQ],
        request=ReportInputSerializer,
        responses={201: ReportOutputSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, conversation_id: str, seq: int) -> Response:
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.message_report(user=request.user, conversation_id=conversation_id, seq=seq, **data.validated_data)
        return Response(ReportOutputSerializer(report).data, status=status.HTTP_201_CREATED)


class AttachmentUploadApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        summary="Upload an image to send",
        description="Multipart field `file`. Then send a message with `image_id`. Codes: 400 `invalid_image`, "
        "`image_too_large`; 403 `forbidden`, `blocked`; 429 `rate_limited`.",
        parameters=[CONVERSATION_ID],
        request={"multipart/form-data": AttachmentUploadInputSerializer},
        responses={201: AttachmentOutputSerializer, **_errors(400, 401, 403, 429)},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        attachment = services.attachment_upload(user=request.user, conversation_id=conversation_id, file=request.FILES.get("file"))
        return Response(AttachmentOutputSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS, summary="Download an image (participants only)",
        parameters=[CONVERSATION_ID, OpenApiParameter("attachment_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, conversation_id: str, attachment_id: str) -> FileResponse:
        conversation, _side = selectors.conversation_for(user=request.user, conversation_id=conversation_id)
        pk = parse_uuid(attachment_id)
        att = ChatAttachment.objects.filter(pk=pk, conversation_id=conversation.pk).first() if pk else None
        message = getattr(att, "message", None) if att is not None else None
        # Unsent uploads are the uploader's only; images of deleted messages are gone for participants.
        if att is None or (message is None and att.uploaded_by_id != request.user.pk) or (message is not None and message.deleted):
            raise NotFound("Attachment not found.", code="attachment_not_found")
        try:
            handle = att.file.open("rb")
        except OSError:
            raise NotFound("Attachment not found.", code="attachment_not_found") from None
        return FileResponse(handle, content_type=att.content_type)


class UnreadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS, summary="My unread chat messages",
        description="Total and per conversation (only conversations with unread messages). Kept live by "
        "`chat.unread` events on `user:<id>`.",
        responses={200: UnreadOutputSerializer, **_errors(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.unread_summary(user=request.user))
