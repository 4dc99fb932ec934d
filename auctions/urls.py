"""Auction routes, included under ``/api/v1/``."""

from django.urls import path

from auctions import api

urlpatterns = [
    path("auctions/", api.AuctionListCreateApi.as_view(), name="auction-list"),
    path("auctions/<uuid:auction_id>/", api.AuctionDetailApi.as_view(), name="auction-detail"),
    path("auctions/<uuid:auction_id>/approve/", api.AuctionApproveApi.as_view(), name="auction-approve"),
    path("auctions/<uuid:auction_id>/cancel/", api.AuctionCancelApi.as_view(), name="auction-cancel"),
    path("auctions/<uuid:auction_id>/bids/", api.AuctionBidApi.as_view(), name="auction-bids"),
    path("auctions/<uuid:auction_id>/buy-now/", api.AuctionBuyNowApi.as_view(), name="auction-buy-now"),
    path("auctions/<uuid:auction_id>/watch/", api.AuctionWatchApi.as_view(), name="auction-watch"),
]
