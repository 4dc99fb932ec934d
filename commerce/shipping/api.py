"""REST views of the shipping room (thin): a store's zones and methods. Anyone reads an active
store's active methods and its zones; its staff and marketplace admins read them all; its
owners and managers (and admins) write (``commerce.shipping.services``)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound
from core.schema import error_responses

from commerce.common.api import ReadOpenMixin
from commerce.shipping import selectors, services
from commerce.shipping.permissions import can_see_all_shipping_methods
from commerce.shipping.serializers import (
    ShippingMethodInputSerializer,
    ShippingMethodOutputSerializer,
    ShippingZoneInputSerializer,
    ShippingZoneOutputSerializer,
)
from commerce.stores.models import Vendor

WRITE_CODES = ("400 `invalid`, 403 `store_settings_not_allowed` (the store's staff who are not owners or "
               "managers), 404 `vendor_not_found` (anyone else)")


def _viewable_store(request: Request, vendor_id: uuid.UUID) -> tuple[Vendor, bool]:
    """The store and whether the caller sees everything (its staff, admins); others see an
    active store's active methods. 404 ``vendor_not_found`` for an inactive store they may not
    see."""
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    everything = vendor is not None and can_see_all_shipping_methods(request.user, vendor)
    if vendor is None or not (everything or vendor.is_active):
        raise NotFound("Vendor not found.", code="vendor_not_found")
    return vendor, everything


def _input(serializer_cls, data, *, partial: bool = False) -> dict:
    """The request body checked by ``serializer_cls`` (every field optional with ``partial``):
    only the keys the client sent; amounts stay as sent (``core.fields.MoneyField``)."""
    serializer = serializer_cls(data=data, partial_update=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ShippingZoneListApi(ReadOpenMixin, APIView):
    @extend_schema(summary="A store's shipping zones", responses={200: ShippingZoneOutputSerializer(many=True),
                                                                  **error_responses(404)}, tags=["shipping"])
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        _viewable_store(request, vendor_id)
        return Response(ShippingZoneOutputSerializer(selectors.shipping_zones_of(vendor_id=vendor_id), many=True).data)

    @extend_schema(
        summary="Add a shipping zone",
        description="Countries (ISO 3166-1 alpha-2), optionally narrowed to regions or postcode patterns (exact, "
        "prefix `10*`, range `10000-14999`), or `rest_of_world: true` (every country the store's other zones do not "
        "list; one per store, else 409 `rest_of_world_exists`). " + WRITE_CODES + ".",
        request=ShippingZoneInputSerializer,
        responses={201: ShippingZoneOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
        tags=["shipping"],
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        zone = services.shipping_zone_create(user=request.user, vendor_id=vendor_id,
                                             data=_input(ShippingZoneInputSerializer, request.data))
        return Response(ShippingZoneOutputSerializer(zone).data, status=status.HTTP_201_CREATED)


class ShippingZoneDetailApi(ReadOpenMixin, APIView):
    @extend_schema(summary="A shipping zone", responses={200: ShippingZoneOutputSerializer, **error_responses(404)},
                   tags=["shipping"])
    def get(self, request: Request, vendor_id: uuid.UUID, zone_id: uuid.UUID) -> Response:
        _viewable_store(request, vendor_id)
        zone = next((z for z in selectors.shipping_zones_of(vendor_id=vendor_id) if z.pk == zone_id), None)
        if zone is None:
            raise NotFound("Shipping zone not found.", code="shipping_zone_not_found")
        return Response(ShippingZoneOutputSerializer(zone).data)

    @extend_schema(summary="Change a shipping zone", description=WRITE_CODES + "; 404 `shipping_zone_not_found`.",
                   request=ShippingZoneInputSerializer,
                   responses={200: ShippingZoneOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
                   tags=["shipping"])
    def patch(self, request: Request, vendor_id: uuid.UUID, zone_id: uuid.UUID) -> Response:
        zone = services.shipping_zone_update(user=request.user, vendor_id=vendor_id, zone_id=zone_id,
                                             data=_input(ShippingZoneInputSerializer, request.data, partial=True))
        return Response(ShippingZoneOutputSerializer(zone).data)

    @extend_schema(summary="Delete a shipping zone without methods",
                   description=WRITE_CODES + "; 409 `zone_in_use` while it has methods.",
                   responses={204: None, **error_responses(401, 403, 404, 409)}, tags=["shipping"])
    def delete(self, request: Request, vendor_id: uuid.UUID, zone_id: uuid.UUID) -> Response:
        services.shipping_zone_delete(user=request.user, vendor_id=vendor_id, zone_id=zone_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShippingMethodListApi(ReadOpenMixin, APIView):
    @extend_schema(summary="A store's shipping methods",
                   description="Anyone: an active store's active methods; its staff and admins: all of them.",
                   responses={200: ShippingMethodOutputSerializer(many=True), **error_responses(404)}, tags=["shipping"])
    def get(self, request: Request, vendor_id: uuid.UUID) -> Response:
        _, everything = _viewable_store(request, vendor_id)
        methods = selectors.shipping_methods_of(vendor_id=vendor_id, active_only=not everything)
        return Response(ShippingMethodOutputSerializer(methods, many=True).data)

    @extend_schema(
        summary="Add a shipping method",
        description="`rule`: `flat` (`price`), `weight` (`weight_bands` [{max_weight_g, price}], a band covers "
        "weights above the previous band's maximum up to its own; optional `volumetric_divisor`), `courier` (`price` "
        "plus `price_per_km` per started kilometre from the store's pickup point, up to `max_distance_m`). Any rule: "
        "`free_above` (free when the store's basket is worth at least that), `tax_class` of the fee. " + WRITE_CODES
        + "; 409 `too_many_methods`.",
        request=ShippingMethodInputSerializer,
        responses={201: ShippingMethodOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
        tags=["shipping"],
    )
    def post(self, request: Request, vendor_id: uuid.UUID) -> Response:
        method = services.shipping_method_create(user=request.user, vendor_id=vendor_id,
                                                 data=_input(ShippingMethodInputSerializer, request.data))
        return Response(ShippingMethodOutputSerializer(method).data, status=status.HTTP_201_CREATED)


class ShippingMethodDetailApi(ReadOpenMixin, APIView):
    @extend_schema(summary="A shipping method", responses={200: ShippingMethodOutputSerializer, **error_responses(404)},
                   tags=["shipping"])
    def get(self, request: Request, vendor_id: uuid.UUID, method_id: uuid.UUID) -> Response:
        _, everything = _viewable_store(request, vendor_id)
        method = next((m for m in selectors.shipping_methods_of(vendor_id=vendor_id, active_only=not everything)
                       if m.pk == method_id), None)
        if method is None:
            raise NotFound("Shipping method not found.", code="shipping_method_not_found")
        return Response(ShippingMethodOutputSerializer(method).data)

    @extend_schema(summary="Change a shipping method",
                   description=WRITE_CODES + "; 404 `shipping_method_not_found`. `weight_bands` replaces the bands.",
                   request=ShippingMethodInputSerializer,
                   responses={200: ShippingMethodOutputSerializer, **error_responses(400, 401, 403, 404)},
                   tags=["shipping"])
    def patch(self, request: Request, vendor_id: uuid.UUID, method_id: uuid.UUID) -> Response:
        method = services.shipping_method_update(user=request.user, vendor_id=vendor_id, method_id=method_id,
                                                 data=_input(ShippingMethodInputSerializer, request.data, partial=True))
        return Response(ShippingMethodOutputSerializer(method).data)

    @extend_schema(summary="Delete a shipping method", description=WRITE_CODES + "; orders keep their snapshot.",
                   responses={204: None, **error_responses(401, 403, 404)}, tags=["shipping"])
    def delete(self, request: Request, vendor_id: uuid.UUID, method_id: uuid.UUID) -> Response:
        services.shipping_method_delete(user=request.user, vendor_id=vendor_id, method_id=method_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
