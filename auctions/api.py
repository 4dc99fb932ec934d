"""REST views of auctions (thin: validate, call a service, render with the output serializers of
``auctions.serializers`` through the selectors' payload functions)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions import selectors, services
from auctions.models import Auction
from auctions.realtime import bid_reply
from auctions.serializers import (
    AuctionCreateInputSerializer,
    AuctionOutputSerializer,
    BidInputSerializer,
    BidOutputSerializer,
    WatchOutputSerializer,
)
from commerce.orders.selectors import order_data
from commerce.orders.serializers import OrderSerializer
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.pagination import LimitOffsetPagination
from core.utils import parse_uuid, validated
from core.schema import error_responses


def _get(request, auction_id) -> Auction:
    return selectors.auction_get_visible(user=request.user, auction_id=auction_id)


class AuctionListCreateApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = LimitOffsetPagination
    serializer_class = AuctionOutputSerializer
    queryset = Auction.objects.none()  # for the OpenAPI document; get() builds the list

    @extend_schema(
        operation_id="auctions_list",
        summary="List auctions",
        description="Default: live and scheduled, soonest end first. `status`, `ending_soon=1` (live, ending within the "
        "hour), `vendor=<id>`, `mine=bids` (you bid), `won=1` (you won).",
        parameters=[OpenApiParameter(n, OpenApiTypes.STR) for n in ("status", "ending_soon", "vendor", "mine", "won")],
        responses={200: AuctionOutputSerializer(many=True), **error_responses(400, 401)},
        tags=["auctions"],
    )
    def get(self, request: Request) -> Response:
        params = {k: request.query_params.get(k, "") for k in ("status", "ending_soon", "vendor", "mine", "won")}
        if params["vendor"] and parse_uuid(params["vendor"]) is None:
            params["vendor"] = "00000000-0000-0000-0000-000000000000"
        page = self.paginate_queryset(selectors.auction_list(viewer=request.user, params=params))
        return self.get_paginated_response([selectors.auction_data(a, viewer=request.user) for a in page])

    @extend_schema(summary="List an auction (store staff)", request=AuctionCreateInputSerializer,
                   description="Created `pending_approval`; an admin approves it.",
                   responses={201: AuctionOutputSerializer, **error_responses(400, 401, 403, 404)}, tags=["auctions"])
    def post(self, request: Request) -> Response:
        data = validated(AuctionCreateInputSerializer, request.data)
        auction = services.auction_create(user=request.user, **data)
        return Response(selectors.auction_data(auction, viewer=request.user), status=status.HTTP_201_CREATED)


class AuctionDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An auction", responses={200: AuctionOutputSerializer, **error_responses(401, 404)}, tags=["auctions"])
    def get(self, request: Request, auction_id) -> Response:
        return Response(selectors.auction_data(_get(request, auction_id), viewer=request.user))


class AuctionApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Approve an auction (admin)", request=None,
                   responses={200: AuctionOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=["auctions"])
    def post(self, request: Request, auction_id) -> Response:
        auction = services.auction_approve(user=request.user, auction_id=auction_id)
        return Response(selectors.auction_data(auction, viewer=request.user))


class AuctionCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Cancel an auction", request=None, description="The store before the first bid; an admin any time before the end.",
                   responses={200: AuctionOutputSerializer, **error_responses(401, 403, 404, 409)}, tags=["auctions"])
    def post(self, request: Request, auction_id) -> Response:
        auction = services.auction_cancel(user=request.user, auction_id=auction_id)
        return Response(selectors.auction_data(auction, viewer=request.user))


class AuctionBidApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Bid (your maximum; proxy bidding)",
        description="Same service as the socket command `bid`. 400 `bid_too_low` (body: `minimum_bid`) or "
        "`invalid_amount`; 403 `own_auction`; 409 `auction_not_live`, `auction_ended`, `insufficient_funds`.",
        request=BidInputSerializer, responses={201: BidOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
        tags=["auctions"],
    )
    def post(self, request: Request, auction_id) -> Response:
        data = validated(BidInputSerializer, request.data)
        result = services.auction_place_bid(auction_id=auction_id, bidder=request.user, max_amount=data["max_amount"])
        return Response(bid_reply(result), status=status.HTTP_201_CREATED)


class AuctionBuyNowApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Buy it now", request=None, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   description="Before the first bid only (409 `buy_now_unavailable`); ends the auction sold and returns "
                   "the order (paid from your wallet).",
                   responses={201: OrderSerializer, **error_responses(400, 401, 403, 404, 409, 422)}, tags=["auctions"])
    @idempotent(scope="auction_buy_now")
    def post(self, request: Request, auction_id) -> Response:
        order = services.auction_buy_now(auction_id=auction_id, buyer=request.user)
        return Response(order_data(order), status=status.HTTP_201_CREATED)


class AuctionWatchApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Watch an auction", request=None, description="404 `auction_not_found` for an auction you "
                   "may not see (pending approval or cancelled, unless you are its store's staff or an admin).",
                   responses={200: WatchOutputSerializer, **error_responses(401, 404)}, tags=["auctions"])
    def post(self, request: Request, auction_id) -> Response:
        watching = services.auction_watch(user=request.user, auction_id=auction_id)
        return Response(WatchOutputSerializer({"watching": watching}).data)

    @extend_schema(summary="Stop watching", responses={200: WatchOutputSerializer, **error_responses(401, 404)}, tags=["auctions"])
    def delete(self, request: Request, auction_id) -> Response:
        watching = services.auction_watch(user=request.user, auction_id=auction_id, watch=False)
        return Response(WatchOutputSerializer({"watching": watching}).data)
