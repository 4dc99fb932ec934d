"""Input and output serializers of the commerce API (and of the ``cart:`` topic commands).

Input serializers only validate shapes and types; rules live in ``commerce.services``. Output
serializers describe the JSON the views return (and document it in the OpenAPI schema).
"""

from __future__ import annotations

from rest_framework import serializers

from core.fields import MoneyField, StrictIntegerField

from commerce.models import MAX_LINE_QUANTITY, Brand, Category, Product, ProductImage, Vendor
from commerce.services import MAX_STOCK


class CommerceErrorSerializer(serializers.Serializer):
    """The error body of every refusal: ``{"code", "detail", "fields"?}`` plus extra keys for
    some codes (``available_stock`` with ``insufficient_stock``; ``status``/``allowed`` with
    ``invalid_transition``)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


# --- Vendors --------------------------------------------------------------------------------


class VendorApplyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class VendorOutputSerializer(serializers.ModelSerializer):
    """A store. ``owner_id`` (who owns it) is private: rendered only for the store's own staff and
    marketplace admins, i.e. when the context's ``private_vendor_ids``
    (``commerce.selectors.vendor_private_ids``) is ``"all"`` or holds the store's id; everyone else
    gets the store without the key."""

    owner_id = serializers.UUIDField(read_only=True, required=False,
                                     help_text="Only for the store's staff and admins")

    class Meta:
        model = Vendor
        fields = ["id", "name", "slug", "description", "status", "owner_id", "status_changed_at", "created_at", "updated_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        private = self.context.get("private_vendor_ids", ())
        if private != "all" and instance.pk not in private:
            data.pop("owner_id", None)
        return data


# --- Catalogue ------------------------------------------------------------------------------


class CategoryOutputSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    depth = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent_id", "position", "depth"]
        read_only_fields = fields

    def get_depth(self, obj) -> int:
        return self.context.get("depths", {}).get(obj.pk, 0)


class BrandOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ProductImageSerializer(serializers.ModelSerializer):
    position = StrictIntegerField(min_value=0, max_value=10_000, required=False)

    class Meta:
        model = ProductImage
        fields = ["url", "alt_text", "position"]
        extra_kwargs = {"alt_text": {"required": False}}


class ProductVendorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ProductOutputSerializer(serializers.ModelSerializer):
    """A product. ``price`` is a string with two decimals in ``currency``."""

    vendor = ProductVendorSerializer(read_only=True)
    category_id = serializers.IntegerField(read_only=True)
    brand = BrandOutputSerializer(read_only=True, allow_null=True)
    images = ProductImageSerializer(many=True, read_only=True)
    in_stock = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id", "vendor", "category_id", "brand", "name", "slug", "sku", "description", "price", "currency",
            "stock", "in_stock", "attributes", "is_active", "images", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_in_stock(self, obj) -> bool:
        return obj.stock > 0


class _ProductWriteFields(serializers.Serializer):
    category_id = StrictIntegerField(min_value=1)
    brand_id = StrictIntegerField(min_value=1, required=False, allow_null=True)
    name = serializers.CharField(max_length=200)
    sku = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    price = MoneyField(help_text="Decimal string with at most two decimals, e.g. \"19.99\"")
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK)
    attributes = serializers.DictField(child=serializers.JSONField(), required=False)
    is_active = serializers.BooleanField(required=False)
    images = ProductImageSerializer(many=True, required=False)


class ProductCreateInputSerializer(_ProductWriteFields):
    """``vendor_id`` may be left out by staff of exactly one active vendor."""

    vendor_id = serializers.UUIDField(required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="EUR",
                                      help_text="ISO 4217 code, e.g. EUR")
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False, default=0)


class ProductUpdateInputSerializer(_ProductWriteFields):
    """Every field optional; ``images`` replaces the list. The currency cannot change."""

    currency = serializers.CharField(required=False, help_text="Must equal the current currency (cannot change).")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)

    def validate(self, attrs):
        product = self.context.get("product")
        currency = attrs.pop("currency", None)
        if currency is not None and product is not None and currency != product.currency:
            raise serializers.ValidationError({"currency": ["The currency of a product cannot be changed."]})
        return attrs


# --- Cart -----------------------------------------------------------------------------------


class CartItemAddInputSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemQuantityInputSerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartSetQuantityCommandSerializer(serializers.Serializer):
    """``set_quantity`` command: ``item_id`` or ``product_id``, and ``quantity``."""

    item_id = serializers.UUIDField(required=False)
    product_id = serializers.UUIDField(required=False)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)

    def validate(self, attrs):
        if not attrs.get("item_id") and not attrs.get("product_id"):
            raise serializers.ValidationError({"item_id": ["Give item_id or product_id."]})
        return attrs


class CartRemoveItemCommandSerializer(serializers.Serializer):
    item_id = serializers.UUIDField()


class CartLineProductSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    sku = serializers.CharField()
    slug = serializers.CharField()
    vendor_id = serializers.UUIDField()
    image = serializers.CharField(allow_null=True)


class CartLineOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    product = CartLineProductSerializer()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Current price per unit")
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    available_stock = serializers.IntegerField(help_text="Units on hand now (0 when unavailable)")
    in_stock = serializers.BooleanField(help_text="Available and quantity <= available_stock")
    available = serializers.BooleanField(help_text="False when the product was deactivated, deleted or its vendor is not active")


class CartReservationSerializer(serializers.Serializer):
    checkout_id = serializers.UUIDField()
    expires_at = serializers.DateTimeField(help_text="When the reserved stock goes back (UTC)")
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    order_ids = serializers.ListField(child=serializers.UUIDField())


class CartOutputSerializer(serializers.Serializer):
    """The cart: same JSON as the ``cart:<user_id>`` snapshot and ``cart.updated`` events."""

    id = serializers.UUIDField()
    lines = CartLineOutputSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    item_count = serializers.IntegerField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    reservation = CartReservationSerializer(allow_null=True, help_text="The active checkout holding stock, or null")


# --- Checkout, orders, payments, wallet -----------------------------------------------------


class CheckoutInputSerializer(serializers.Serializer):
    shipping_address_id = serializers.UUIDField(required=False, allow_null=True,
                                                help_text="Default: your default shipping address")
    billing_address_id = serializers.UUIDField(required=False, allow_null=True,
                                               help_text="Default: your default billing address, else the shipping one")


class OrderLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.UUIDField(allow_null=True)
    product_name = serializers.CharField()
    sku = serializers.CharField()
    vendor_name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Price per unit at purchase")
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class OrderVendorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class OrderOutputSerializer(serializers.Serializer):
    """An order (``commerce.orders.order_data``); ``allowed_transitions`` is for the viewer."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    checkout_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    source = serializers.CharField()
    buyer_id = serializers.UUIDField()
    vendor = OrderVendorSerializer()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunded_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = OrderLineOutputSerializer(many=True)
    shipping_address = serializers.JSONField()
    billing_address = serializers.JSONField()
    reservation_expires_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True, help_text="When delivery was proven (PIN or QR)")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    allowed_transitions = serializers.ListField(child=serializers.CharField(), required=False)
    escrow = serializers.JSONField(required=False, allow_null=True, help_text="As EscrowOutput; null before payment")
    allowed_actions = serializers.ListField(child=serializers.CharField(), required=False,
                                            help_text="What the viewer may do now: confirm_receipt, open_dispute")


class CheckoutOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    orders = OrderOutputSerializer(many=True)


class OrderStatusInputSerializer(serializers.Serializer):
    status = serializers.CharField(max_length=32)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OrderCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["card", "wallet"])
    card_token = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                       help_text="Test gateway: tok_visa, tok_pending, tok_decline, tok_insufficient")


class PaymentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    method = serializers.CharField()
    gateway = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed", "needs_refund", "reversed"],
                                     help_text="needs_refund / reversed: charged but not applied, refunded by "
                                     "reconciliation")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    failure_code = serializers.CharField()
    refunded_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)


class RefundInputSerializer(serializers.Serializer):
    amount = MoneyField(required=False, allow_null=True, help_text="Decimal string; default: all that is left")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RefundOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    payment_id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    order = OrderOutputSerializer()


class WalletEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed change of balance")
    held_amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed change of held_balance")
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    held_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    reference = serializers.CharField()
    memo = serializers.CharField()
    created_at = serializers.DateTimeField()


class WalletOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    held_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.DecimalField(max_digits=14, decimal_places=2)
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    ledger = WalletEntrySerializer(many=True, help_text="The latest 50 entries, newest first")


class DepositInputSerializer(serializers.Serializer):
    amount = MoneyField(help_text="Decimal string with at most two decimals, e.g. \"50.00\"")
    currency = serializers.CharField(max_length=3, required=False, default="EUR")
    card_token = serializers.CharField(max_length=64)


class DepositOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    failure_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    wallet = WalletOutputSerializer()


# --- Buyer protection: escrow and disputes --------------------------------------------------


class EscrowOutputSerializer(serializers.Serializer):
    """An order's escrow (``commerce.escrow.escrow_data``)."""

    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=["held", "released", "refunded"])
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Held (or released) amount")
    currency = serializers.CharField()
    commission = serializers.DecimalField(max_digits=14, decimal_places=2)
    release_after = serializers.DateTimeField(allow_null=True, help_text="End of the buyer-protection window")
    released_at = serializers.DateTimeField(allow_null=True)
    release_reason = serializers.CharField(allow_null=True)
    frozen = serializers.BooleanField(help_text="A dispute is open: it will not be released")
    dispute_id = serializers.UUIDField(allow_null=True)


class DisputeOpenInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["not_received", "not_as_described", "damaged", "wrong_item",
                                             "missing_parts", "other"])
    description = serializers.CharField(max_length=4000)
    claimed_amount = serializers.CharField(required=False, allow_null=True,
                                           help_text="Decimal string; default: all that is refundable")


class DisputeStatementInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class DisputeResolveInputSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=["release", "partial_refund", "refund"])
    amount = serializers.CharField(required=False, allow_null=True,
                                   help_text="partial_refund: the decimal amount back to the buyer")
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class DisputeStatementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=["buyer", "store", "staff"])
    author_name = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class DisputeOutputSerializer(serializers.Serializer):
    """A dispute (``commerce.disputes.dispute_data``)."""

    id = serializers.UUIDField()
    order = serializers.JSONField(help_text="{id, number, status, currency, total, refunded_total, buyer_id, vendor}")
    source = serializers.CharField(help_text="buyer, or the app that opened it for the buyer (e.g. return)")
    reason = serializers.CharField()
    description = serializers.CharField()
    claimed_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", "resolved_release", "resolved_partial_refund", "resolved_refund",
                                              "withdrawn"])
    store_responded_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.JSONField(allow_null=True, help_text="{refund_amount, released_amount, note, resolved_at}")
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    statements = DisputeStatementOutputSerializer(many=True, required=False)
