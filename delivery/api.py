"""REST views of delivery (thin: validate, call a service, render with ``delivery.serializers``
through ``delivery_data`` / ``open_delivery_data``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.utils import parse_uuid, validated
from core.schema import error_responses
from delivery import services
from delivery.models import Delivery
from delivery.permissions import watchable_deliveries_q
from delivery.serializers import (
    CompleteInputSerializer,
    CourierProfileInputSerializer,
    CourierProfileOutputSerializer,
    DeliveryOutputSerializer,
    LocationsInputSerializer,
    LocationsOutputSerializer,
    OpenDeliveryOutputSerializer,
    StatusInputSerializer,
)


def _float(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise ApplicationError(f"{name} must be a number.", code="invalid", fields={name: ["Not a number."]}) from None


class DeliveryListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Deliveries",
        description="`?open=1` (couriers): unclaimed deliveries, nearest pickup first with `lat`/`lon`, each with the "
        "pickup point and only a coarse drop-off area (`dropoff_area`: the centre of a 1 km grid cell and the city; "
        "the exact point comes with the claim). Otherwise: deliveries you take part in (as courier, buyer, or store "
        "staff), newest first; `order=<id>` lists one order's attempts (re-dispatches after a failure).",
        parameters=[OpenApiParameter(n, OpenApiTypes.STR) for n in ("open", "lat", "lon", "order")],
        responses={200: PolymorphicProxySerializer(component_name="DeliveryListItem", many=True,
                                                   serializers=[DeliveryOutputSerializer, OpenDeliveryOutputSerializer],
                                                   resource_type_field_name=None),
                   **error_responses(400, 401, 403, e403="`?open=1` is for couriers")},
        tags=["delivery"],
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("open"):
            items = services.deliveries_open(user=request.user, lat=_float(request, "lat"), lon=_float(request, "lon"))
            return Response([services.open_delivery_data(d) for d in items])
        qs = Delivery.objects.select_related("order", "courier").filter(watchable_deliveries_q(request.user))
        order = request.query_params.get("order")
        if order:
            oid = parse_uuid(order)
            if oid is None:
                raise ApplicationError("order must be a UUID.", code="invalid", fields={"order": ["Not a UUID."]})
            qs = qs.filter(order_id=oid).order_by("attempt")
        else:
            qs = qs.order_by("-created_at")
        return Response([services.delivery_data(d, viewer=request.user, watcher=True) for d in qs[:100]])


class DeliveryDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A delivery (with its path)", description="A courier looking at an unclaimed delivery gets "
                   "the open-list shape (coarse drop-off area, no exact point, no PIN).",
                   responses={200: DeliveryOutputSerializer, **error_responses(401, 404)}, tags=["delivery"])
    def get(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_get_visible(user=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user, with_path=True))


class DeliveryClaimApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Claim a delivery (courier)", request=None,
                   description="409 `already_claimed` (another courier was first), `too_many_active` (5 active).",
                   responses={200: DeliveryOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_claim(courier=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliverySelfDeliverApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Deliver it yourself (store staff)", request=None,
                   description="A staff member of the order's store takes an unclaimed delivery (`mode` becomes `store`) "
                   "and then acts as its courier: status reports, positions, and completion with the buyer's PIN or QR "
                   "only. 403 `not_store_staff`, 409 `already_claimed`.",
                   responses={200: DeliveryOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_take_by_store(user=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryStatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Report a status (assigned courier, or store staff delivering it)", request=StatusInputSerializer,
                   description="picked_up (the order goes out_for_delivery), en_route, arriving, failed (with a reason; the "
                   "order goes delivery_failed, from which the store re-dispatches or cancels). `delivered` needs proof: "
                   "POST complete/.",
                   responses={200: DeliveryOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        data = validated(StatusInputSerializer, request.data)
        delivery = services.delivery_set_status(courier=request.user, delivery_id=delivery_id, **data)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryCompleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Proof of delivery (assigned courier, or store staff delivering it)", request=CompleteInputSerializer,
                   description="The buyer's 4-digit PIN or their single-use QR token: the only way an order becomes "
                   "delivered; the buyer-protection window starts. 409 `wrong_pin` (attempts_left), `pin_locked` after 5 "
                   "wrong PINs (staff reset it), `invalid_qr`.",
                   responses={200: DeliveryOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        data = validated(CompleteInputSerializer, request.data)
        delivery = services.delivery_complete(courier=request.user, delivery_id=delivery_id,
                                              pin=data.get("pin") or None, qr=data.get("qr_token") or None)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryPinResetApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Unlock a locked PIN (staff)", request=None,
                   responses={200: DeliveryOutputSerializer, **error_responses(401, 403, 404)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_reset_pin(user=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryLocationsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Upload buffered positions (assigned courier)", request=LocationsInputSerializer,
                   description="Up to 500 points `{ts, lat, lon, accuracy_m, speed_mps?, heading_deg?}` sent while offline; "
                   "out of order and repeated batches give one ordered path. 409 `tracking_ended` after delivery.",
                   responses={201: LocationsOutputSerializer, **error_responses(400, 401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        data = validated(LocationsInputSerializer, request.data)
        result = services.delivery_ingest_locations(courier=request.user, delivery_id=delivery_id, points=data["points"])
        return Response(LocationsOutputSerializer(result).data, status=status.HTTP_201_CREATED)


class CourierProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Your courier profile (online, vehicle)", request=CourierProfileInputSerializer,
                   responses={200: CourierProfileOutputSerializer, **error_responses(400, 401, 403)}, tags=["delivery"])
    def patch(self, request: Request) -> Response:
        data = validated(CourierProfileInputSerializer, request.data)
        p = services.courier_set_profile(user=request.user, **data)
        return Response(CourierProfileOutputSerializer(p).data)
