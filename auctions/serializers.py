"""Input and output serializers of the auction API, the ``auction:`` topic's snapshot, events
and bid replies (money as decimal strings)."""

from rest_framework import serializers

from auctions.models import AuctionResult, AuctionStatus
from commerce.stores.serializers import VendorRefSerializer
from core.fields import MoneyField, MoneyOutputField, TimestampField


class AuctionCreateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    vendor_id = serializers.UUIDField(required=False, allow_null=True, help_text="Default: your first active store")
    product_id = serializers.UUIDField(required=False, allow_null=True)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, allow_null=True)
    start_price = MoneyField(help_text="Decimal string, e.g. \"10.00\"")
    reserve_price = MoneyField(required=False, allow_null=True, help_text="Private; bidders only see reserve_met")
    buy_now_price = MoneyField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField()
    hard_end = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: ends_at + 1 hour")
    soft_close_window_seconds = serializers.IntegerField(required=False, default=120, min_value=1, max_value=86400)
    soft_close_extension_seconds = serializers.IntegerField(required=False, default=120, min_value=1, max_value=86400)


class BidInputSerializer(serializers.Serializer):
    max_amount = MoneyField(help_text="Your maximum (proxy bid) as a decimal string, e.g. \"12.50\"")


class AuctionSerializer(serializers.Serializer):
    """What everyone may see of an auction (``auctions.selectors.AuctionView``): the
    ``auction:<id>`` events' data. ``leader`` is a pseudonym ("Bidder 3"); ``reserve_met`` is
    null without a reserve; ``server_time`` lets clients run countdowns on the server's clock."""

    id = serializers.UUIDField(source="auction.id")
    title = serializers.CharField(source="auction.title")
    description = serializers.CharField(source="auction.description")
    vendor = VendorRefSerializer(source="auction.vendor")
    product_id = serializers.UUIDField(source="auction.product_id", allow_null=True)
    status = serializers.ChoiceField(source="auction.status", choices=AuctionStatus.choices)
    result = serializers.ChoiceField(choices=AuctionResult.choices, allow_null=True)
    currency = serializers.CharField(source="auction.currency")
    start_price = MoneyOutputField(source="auction.start_price")
    current_price = MoneyOutputField(source="auction.current_price", allow_null=True)
    minimum_bid = MoneyOutputField(allow_null=True, help_text="null unless scheduled or live")
    bid_count = serializers.IntegerField(source="auction.bid_count")
    leader = serializers.CharField(allow_null=True, help_text="Pseudonym, e.g. \"Bidder 3\"")
    reserve_met = serializers.BooleanField(allow_null=True, help_text="null when there is no reserve")
    buy_now_price = MoneyOutputField(source="auction.buy_now_price", allow_null=True)
    buy_now_available = serializers.BooleanField()
    starts_at = TimestampField(source="auction.starts_at")
    ends_at = TimestampField(source="auction.ends_at",
                             help_text="Effective end (soft close may move it, never past hard_end)")
    hard_end = TimestampField(source="auction.hard_end")
    soft_close_window_seconds = serializers.IntegerField(source="auction.soft_close_window_seconds")
    soft_close_extension_seconds = serializers.IntegerField(source="auction.soft_close_extension_seconds")
    final_price = MoneyOutputField(source="auction.final_price", allow_null=True)
    version = serializers.IntegerField(source="auction.version")
    server_time = TimestampField(source="now")


class AuctionOutputSerializer(AuctionSerializer):
    """An auction for one viewer (REST bodies, the ``auction:<id>`` snapshot): the public fields
    plus, for a signed-in viewer, ``my_max_amount`` and ``leading``, and for the winner and the
    store's staff of a sold auction, ``order_id``. A key that does not apply is left out."""

    my_max_amount = MoneyOutputField(source="viewer.my_max_amount", allow_null=True, required=False,
                                     help_text="Your maximum (proxy bid); null when you did not bid")
    leading = serializers.BooleanField(source="viewer.leading", required=False)
    order_id = serializers.UUIDField(source="viewer.order_id", required=False, help_text="Winner and store only, once sold")

    def to_representation(self, view) -> dict:
        data = super().to_representation(view)
        for name in ("my_max_amount", "leading", "order_id"):
            if name not in view.viewer:
                data.pop(name, None)
        return data


class BidOutputSerializer(serializers.Serializer):
    """The answer to an accepted bid (REST 201 body and the socket command's reply)."""

    bid_id = serializers.IntegerField(source="bid.pk")
    current_price = MoneyOutputField(source="view.auction.current_price")
    leading = serializers.BooleanField()
    minimum_bid = MoneyOutputField(source="view.minimum_bid", allow_null=True, help_text="null once the bid ended the auction")
    ends_at = TimestampField(source="view.auction.ends_at")
    reserve_met = serializers.BooleanField(source="view.reserve_met", allow_null=True)
    bid_count = serializers.IntegerField(source="view.auction.bid_count")
    version = serializers.IntegerField(source="view.auction.version")


class WatchOutputSerializer(serializers.Serializer):
    watching = serializers.BooleanField()
