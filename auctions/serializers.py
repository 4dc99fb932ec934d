"""Input and output serializers of the auction API (outputs document the JSON the selectors
build; money as decimal strings)."""

from rest_framework import serializers

from commerce.stores.serializers import VendorRefSerializer
from core.fields import MoneyField


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


class AuctionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    vendor = VendorRefSerializer()
    product_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=["pending_approval", "scheduled", "live", "ended", "cancelled"])
    result = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    start_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    current_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    minimum_bid = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    bid_count = serializers.IntegerField()
    leader = serializers.CharField(allow_null=True, help_text="Pseudonym, e.g. \"Bidder 3\"")
    reserve_met = serializers.BooleanField(allow_null=True, help_text="null when there is no reserve")
    buy_now_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    buy_now_available = serializers.BooleanField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="Effective end (soft close may move it, never past hard_end)")
    hard_end = serializers.DateTimeField()
    soft_close_window_seconds = serializers.IntegerField()
    soft_close_extension_seconds = serializers.IntegerField()
    final_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    version = serializers.IntegerField()
    server_time = serializers.DateTimeField()
    my_max_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True, required=False)
    leading = serializers.BooleanField(required=False)
    order_id = serializers.UUIDField(required=False, help_text="Winner and store only, once sold")


class BidOutputSerializer(serializers.Serializer):
    bid_id = serializers.IntegerField()
    current_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    leading = serializers.BooleanField()
    minimum_bid = serializers.DecimalField(max_digits=12, decimal_places=2)
    ends_at = serializers.DateTimeField()
    reserve_met = serializers.BooleanField(allow_null=True)
    bid_count = serializers.IntegerField()
    version = serializers.IntegerField()
