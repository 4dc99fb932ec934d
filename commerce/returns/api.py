"""REST views of returns (thin: validate with an input serializer, call
``commerce.returns.services``, render with ``commerce.returns.selectors``).

Buyer: what is returnable, request, photos, ship, cancel, escalate. The store's return handlers
(and marketplace admins): approve, reject, receive, inspect, refund, the policy. Everyone who may
see a return reads it and its photos; anyone else gets 404 ``return_not_found``.
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

from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, OPTIONAL_IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.pagination import NewestFirstCursorPagination
from core.schema import error_responses
from core.utils import validated

from commerce.common.photos import photo_file_response
from commerce.orders.selectors import order_get_visible
from commerce.returns import selectors, services
from commerce.returns.models import ReturnRequest, ReturnStatus
from commerce.returns.serializers import (
    ReturnableOutputSerializer,
    ReturnDetailOutputSerializer,
    ReturnEscalateInputSerializer,
    ReturnInspectInputSerializer,
    ReturnNoteInputSerializer,
    ReturnOutputSerializer,
    ReturnPhotoOutputSerializer,
    ReturnPhotoUploadInputSerializer,
    ReturnPolicyInputSerializer,
    ReturnPolicyOutputSerializer,
    ReturnRefundInputSerializer,
    ReturnRejectInputSerializer,
    ReturnRequestInputSerializer,
    ReturnShipInputSerializer,
)

TAGS = ["returns"]


def _detail(request: Request, rma, *, code: int = status.HTTP_200_OK) -> Response:
    rma = selectors.return_get_visible(user=request.user, return_id=rma.pk)
    return Response(selectors.return_detail_data(rma, viewer=request.user), status=code)


class OrderReturnsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Returns of an order", responses={200: ReturnOutputSerializer(many=True),
                                                             **error_responses(401, 404)}, tags=TAGS)
    def get(self, request: Request, order_id) -> Response:
        order = order_get_visible(user=request.user, order_id=order_id)
        return Response([selectors.return_data(r) for r in selectors.returns_for(user=request.user, order_id=order.pk)])

    @extend_schema(
        summary="Request a return (buyer)",
        description="Lines of a delivered order (`quantity` per line), inside the store's return window, with a "
        "reason code, a text and up to 5 photos uploaded before (`photo_ids`). 403 `return_not_allowed` (not the "
        "buyer); 409 `not_delivered`, `return_window_closed`, `quantity_exceeds_returnable` (with `lines`), "
        "`dispute_open`; 400 `invalid`, `invalid_photo`, `too_many_photos`.",
        request=ReturnRequestInputSerializer, parameters=[OPTIONAL_IDEMPOTENCY_KEY_PARAMETER],
        responses={201: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=TAGS,
    )
    @idempotent(scope="return_request", required=False)
    def post(self, request: Request, order_id) -> Response:
        data = validated(ReturnRequestInputSerializer, request.data)
        rma = services.return_request(user=request.user, order_id=order_id, lines=data["lines"],
                                      reason=data["reason"], description=data["description"],
                                      photo_ids=data["photo_ids"])
        return _detail(request, rma, code=status.HTTP_201_CREATED)


class OrderReturnableApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="What of an order can still be returned",
                   description="The store's return window and, per line, the units bought less those returned or "
                   "being returned.", responses={200: ReturnableOutputSerializer, **error_responses(401, 404)},
                   tags=TAGS)
    def get(self, request: Request, order_id) -> Response:
        order = order_get_visible(user=request.user, order_id=order_id)
        return Response(selectors.returnable_data(order=order))


class ReturnListApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstCursorPagination
    serializer_class = ReturnOutputSerializer
    queryset = ReturnRequest.objects.none()  # for the OpenAPI document; get() builds the list

    @extend_schema(summary="Returns you take part in", operation_id="returns_list",
                   description="As the buyer or the store's staff; marketplace staff see all. `status` narrows "
                   "(400 `invalid` for an unknown one).",
                   parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=ReturnStatus.values)],
                   responses={200: ReturnOutputSerializer(many=True),
                              **error_responses(400, 401, 404, e404="Invalid cursor")}, tags=TAGS)
    def get(self, request: Request) -> Response:
        qs = selectors.returns_for(user=request.user, status=request.query_params.get("status") or None)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response([selectors.return_data(r) for r in page])


class ReturnDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A return with what you may do now and its history",
                   responses={200: ReturnDetailOutputSerializer, **error_responses(401, 404)}, tags=TAGS)
    def get(self, request: Request, return_id) -> Response:
        rma = selectors.return_get_visible(user=request.user, return_id=return_id)
        return Response(selectors.return_detail_data(rma, viewer=request.user))


_REFUSALS = "403 `return_action_not_allowed` (the wrong side); 409 `invalid_transition` (the state map)."


class ReturnApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Approve a return (store)", description="`requested → approved`. " + _REFUSALS,
                   request=ReturnNoteInputSerializer,
                   responses={200: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, return_id) -> Response:
        data = validated(ReturnNoteInputSerializer, request.data)
        return _detail(request, services.return_approve(user=request.user, return_id=return_id, note=data["note"]))


class ReturnRejectApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Reject a return (store)", description="`requested → rejected`, with a reason the buyer "
                   "sees (and may escalate). " + _REFUSALS, request=ReturnRejectInputSerializer,
                   responses={200: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, return_id) -> Response:
        data = validated(ReturnRejectInputSerializer, request.data)
        return _detail(request, services.return_reject(user=request.user, return_id=return_id, reason=data["reason"]))


class ReturnCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Cancel a return (buyer)", description="Before the parcel left (requested or approved); "
                   "an open courier pickup is cancelled. " + _REFUSALS, request=None,
                   responses={200: ReturnDetailOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, return_id) -> Response:
        return _detail(request, services.return_cancel(user=request.user, return_id=return_id))


class ReturnShipApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Send an approved return (buyer)",
        description="`courier`: a return delivery for the courier flow (pickup at the order's address, the PIN is the "
        "store's); the return is in transit once the courier picks it up. `carrier` with `carrier` and "
        "`tracking_number`: in transit now. 409 `courier_unavailable`. " + _REFUSALS,
        request=ReturnShipInputSerializer,
        responses={200: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS,
    )
    def post(self, request: Request, return_id) -> Response:
        data = validated(ReturnShipInputSerializer, request.data)
        return _detail(request, services.return_ship(user=request.user, return_id=return_id, transport=data["transport"],
                                                     carrier=data["carrier"], tracking_number=data["tracking_number"]))


class ReturnReceiveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Mark a return received (store)",
                   description="`in_transit → received` for a carrier's parcel. 409 `return_delivery_open` (a courier "
                   "brings it: completing the delivery with the store's PIN receives it). " + _REFUSALS, request=None,
                   responses={200: ReturnDetailOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, return_id) -> Response:
        return _detail(request, services.return_receive(user=request.user, return_id=return_id))


class ReturnInspectApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Inspect a return (store)",
                   description="Grade every line (`as_new`, `opened`, `damaged`, `not_returned`): `received → "
                   "inspected`; the store's resellable grades go back to stock, once. " + _REFUSALS,
                   request=ReturnInspectInputSerializer,
                   responses={200: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS)
    def post(self, request: Request, return_id) -> Response:
        data = validated(ReturnInspectInputSerializer, request.data)
        return _detail(request, services.return_inspect(user=request.user, return_id=return_id, grades=data["lines"],
                                                        note=data["note"]))


class ReturnRefundApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Refund an inspected return (store)",
        description="By the grade and the reason (README, \"Returns\"): in full for the store's fault; for changed-mind "
        "and other returns less `restocking_fee_percent` (up to the policy's maximum) and, for a whole-order return, "
        "the original shipping fee if `refund_shipping`. From the escrow while held, else from the store's wallet. "
        "Ends `refunded`, `partially_refunded` or `rejected_after_inspection`. 400 `restocking_fee_not_allowed`, "
        "`restocking_fee_too_high`, `invalid_amount`; 409 `insufficient_funds` (the store's wallet; the return "
        "stays inspected, `refund_error` says why). " + _REFUSALS,
        request=ReturnRefundInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=TAGS,
    )
    @idempotent(scope="return_refund", atomic=False)
    def post(self, request: Request, return_id) -> Response:
        data = validated(ReturnRefundInputSerializer, request.data)
        rma = services.return_refund(user=request.user, return_id=return_id,
                                     restocking_fee_percent=data["restocking_fee_percent"],
                                     refund_shipping=data["refund_shipping"], note=data["note"])
        return _detail(request, rma)


class ReturnEscalateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Escalate a rejected return to marketplace staff (buyer)",
        description="A dispute about the order (source `return`) that staff decide. 409 `not_rejected`, "
        "`already_escalated`, `escalation_window_closed`, `nothing_to_claim`, `dispute_already_open`. " + _REFUSALS,
        request=ReturnEscalateInputSerializer,
        responses={200: ReturnDetailOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=TAGS,
    )
    def post(self, request: Request, return_id) -> Response:
        data = validated(ReturnEscalateInputSerializer, request.data)
        return _detail(request, services.return_escalate(user=request.user, return_id=return_id,
                                                         description=data["description"]))


class ReturnPhotoUploadApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Upload a photo for a return (buyer)",
                   description="Multipart field `file` (JPEG, PNG, GIF, WebP; at most 5 MiB), re-encoded without "
                   "metadata. Then request the return with its id in `photo_ids`. 400 `invalid_image`, "
                   "`image_too_large`; 409 `too_many_unattached_photos`.",
                   request={"multipart/form-data": ReturnPhotoUploadInputSerializer},
                   responses={201: ReturnPhotoOutputSerializer, **error_responses(400, 401, 409)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        photo = services.return_photo_upload(user=request.user, file=request.FILES.get("file"))
        return Response(ReturnPhotoOutputSerializer(photo).data, status=status.HTTP_201_CREATED)


class ReturnPhotoDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A return's photo", description="The uploader while unattached; then whoever sees the "
                   "return.", parameters=[OpenApiParameter("photo_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **error_responses(401, 404)},
                   tags=TAGS)
    def get(self, request: Request, photo_id) -> FileResponse:
        return photo_file_response(selectors.return_photo_get_visible(user=request.user, photo_id=photo_id))


class ReturnPolicyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A store's return policy", responses={200: ReturnPolicyOutputSerializer,
                                                                 **error_responses(401, 404)}, tags=TAGS)
    def get(self, request: Request, vendor_id) -> Response:
        return Response(selectors.return_policy_data(selectors.return_policy_get(vendor_id=vendor_id)))

    @extend_schema(summary="Set a store's return policy (its owner)",
                   description="`window_days` (14 to 365), `restocking_fee_max_percent` (0 to 100), "
                   "`resellable_grades` (as_new, opened, damaged). 403 `policy_not_allowed`.",
                   request=ReturnPolicyInputSerializer,
                   responses={200: ReturnPolicyOutputSerializer, **error_responses(400, 401, 403, 404)}, tags=TAGS)
    def patch(self, request: Request, vendor_id) -> Response:
        data = validated(ReturnPolicyInputSerializer, request.data)
        policy = services.return_policy_update(user=request.user, vendor_id=vendor_id, **data)
        return Response(selectors.return_policy_data(policy))
