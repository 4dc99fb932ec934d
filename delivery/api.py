"""REST views of delivery (thin: validate, call a service, return ``delivery_data``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api import _errors
from core.exceptions import ApplicationError
from core.utils import validated

from delivery import services
from delivery.models import Delivery
from delivery.serializers import (
    CompleteInputSerializer,
    CourierProfileInputSerializer,
    DeliveryOutputSerializer,
    LocationsInputSerializer,
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
        description="`?open=1` (couriers): unclaimed deliveries, nearest pickup first with `lat`/`lon`. Otherwise: "
        "deliveries you take part in (as courier, buyer, or store staff), newest first.",
        parameters=[OpenApiParameter(n, OpenApiTypes.STR) for n in ("open", "lat", "lon")],
        responses={200: DeliveryOutputSerializer(many=True)}, tags=["delivery"],
    )
    def get(self, request: Request) -> Response:
        from commerce.selectors import vendor_ids_for_user
        from django.db.models import Q

        if request.query_params.get("open"):
            items = services.deliveries_open(user=request.user, lat=_float(request, "lat"), lon=_float(request, "lon"))
        else:
            items = list(Delivery.objects.select_related("order", "courier").filter(
                Q(courier=request.user) | Q(order__buyer=request.user) | Q(order__vendor_id__in=vendor_ids_for_user(request.user))
            ).order_by("-created_at")[:100])
        return Response([services.delivery_data(d, viewer=request.user) for d in items])


class DeliveryDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A delivery (with its path)", responses={200: DeliveryOutputSerializer, **_errors(401, 404)},
                   tags=["delivery"])
    def get(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_get_visible(user=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user, with_path=True))


class DeliveryClaimApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Claim a delivery (courier)", request=None,
                   description="409 `already_claimed` (another courier was first), `too_many_active` (5 active).",
                   responses={200: DeliveryOutputSerializer, **_errors(401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_claim(courier=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryStatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Report a status (assigned courier)", request=StatusInputSerializer,
                   description="picked_up (the order goes out_for_delivery), en_route, arriving, failed (with a reason). "
                   "`delivered` needs proof: POST complete/.",
                   responses={200: DeliveryOutputSerializer, **_errors(400, 401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        data = validated(StatusInputSerializer, request.data)
        delivery = services.delivery_set_status(courier=request.user, delivery_id=delivery_id, **data)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryCompleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Proof of delivery (assigned courier)", request=CompleteInputSerializer,
                   description="The buyer's 4-digit PIN or their single-use QR token. 409 `wrong_pin` (attempts_left), "
                   "`pin_locked` after 5 wrong PINs (staff reset it), `invalid_qr`.",
                   responses={200: DeliveryOutputSerializer, **_errors(400, 401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        data = validated(CompleteInputSerializer, request.data)
        delivery = services.delivery_complete(courier=request.user, delivery_id=delivery_id,
                                              pin=data.get("pin") or None, qr=data.get("qr_token") or None)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryPinResetApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Unlock a locked PIN (staff)", request=None,
                   responses={200: DeliveryOutputSerializer, **_errors(401, 403, 404)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        delivery = services.delivery_reset_pin(user=request.user, delivery_id=delivery_id)
        return Response(services.delivery_data(delivery, viewer=request.user))


class DeliveryLocationsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Upload buffered positions (assigned courier)", request=LocationsInputSerializer,
                   description="Up to 500 points `{ts, lat, lon, accuracy_m, speed_mps?, heading_deg?}` sent while offline; "
                   "out of order and repeated batches give one ordered path. 409 `tracking_ended` after delivery.",
                   responses={201: OpenApiTypes.OBJECT, **_errors(400, 401, 403, 404, 409)}, tags=["delivery"])
    def post(self, request: Request, delivery_id) -> Response:
        data = validated(LocationsInputSerializer, request.data)
        result = services.delivery_ingest_locations(courier=request.user, delivery_id=delivery_id, points=data["points"])
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


class CourierProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Your courier profile (online, vehicle)", request=CourierProfileInputSerializer,
                   responses={200: OpenApiTypes.OBJECT, **_errors(400, 401, 403)}, tags=["delivery"])
    def patch(self, request: Request) -> Response:
        data = validated(CourierProfileInputSerializer, request.data)
        p = services.courier_set_profile(user=request.user, **data)
        return Response({"online": p.online, "vehicle_type": p.vehicle_type})
