"""Input and output serializers of the stores API.

What a store shows publicly (:class:`VendorOutputSerializer` for anyone): its name, slug,
description, status, logo, website, city and country, and what it marks public (its contact
e-mail and phone, its street address). Its staff and marketplace admins also get the owner, the
whole contact and address, the tax identifier, the public flags and the pickup point.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce.stores.models import PickupPoint, PickupSource, StoreInvitation, Vendor, VendorStaff, VendorStaffRole


class VendorApplyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class VendorAddressInputSerializer(serializers.Serializer):
    """Keys given are changed, the others kept; ``""`` clears one."""

    line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True,
                                    help_text="ISO 3166-1 alpha-2, e.g. DE")


class VendorProfileInputSerializer(serializers.Serializer):
    """PATCH of a store's profile: every field optional; ``""`` clears a text field. The service
    checks the phone number (libphonenumber, in the store's country), the tax identifier
    (python-stdnum, per country) and the website."""

    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    contact_email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                          help_text="E.164 (+4930...) or national in the store's country")
    address = VendorAddressInputSerializer(required=False)
    website = serializers.CharField(max_length=300, required=False, allow_blank=True)
    tax_id = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="VAT number (EU: with or without the country prefix) or tax number")
    email_public = serializers.BooleanField(required=False)
    phone_public = serializers.BooleanField(required=False)
    address_public = serializers.BooleanField(required=False)


class LogoInputSerializer(serializers.Serializer):
    logo = serializers.FileField(help_text="JPEG, PNG, GIF or WebP; re-encoded without metadata")


class PickupPointInputSerializer(serializers.Serializer):
    """Either coordinates set by hand, or ``from_address: true`` (needs the geocoder)."""

    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    from_address = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        has_coords = "latitude" in attrs or "longitude" in attrs
        if attrs.get("from_address") and has_coords:
            raise serializers.ValidationError({"from_address": ["Give coordinates or from_address, not both."]})
        if not attrs.get("from_address") and ("latitude" not in attrs or "longitude" not in attrs):
            raise serializers.ValidationError({"latitude": ["Give latitude and longitude (or from_address)."]})
        return attrs


class PickupPointOutputSerializer(serializers.ModelSerializer):
    """A store's pickup point (WGS 84 decimal degrees; null while a point from the address waits
    for the geocoder)."""

    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    source = serializers.ChoiceField(choices=PickupSource.choices)

    class Meta:
        model = PickupPoint
        fields = ["latitude", "longitude", "source", "description", "geocoded_at", "updated_at"]
        read_only_fields = fields


class VendorAddressSerializer(serializers.Serializer):
    """A store's address. Publicly only ``city`` and ``country`` unless the store shows its
    street address."""

    line1 = serializers.CharField(required=False)
    line2 = serializers.CharField(required=False)
    postal_code = serializers.CharField(required=False)
    city = serializers.CharField()
    region = serializers.CharField(required=False)
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2, or empty")


#: keys of the address everyone sees
PUBLIC_ADDRESS_KEYS = ("city", "country")
#: keys only the store's staff and admins see
PRIVATE_KEYS = ("owner_id", "tax_id", "email_public", "phone_public", "address_public", "pickup_point")


class VendorOutputSerializer(serializers.ModelSerializer):
    """A store. Private keys (``owner_id``, ``tax_id``, the public flags, ``pickup_point``, and
    the contact e-mail, phone and street address the store does not mark public) are rendered
    only for the store's own staff and marketplace admins, i.e. when the context's
    ``private_vendor_ids`` (``commerce.stores.selectors.vendor_private_ids``) is ``"all"`` or holds
    the store's id; everyone else gets the store without those keys."""

    owner_id = serializers.UUIDField(required=False, help_text="Only for the store's staff and admins")
    website = serializers.CharField(help_text="http(s) URL of the store's own site, or empty")
    logo_url = serializers.SerializerMethodField(help_text="URL of the re-encoded logo, or null")
    address = serializers.SerializerMethodField()
    contact_email = serializers.CharField(required=False, help_text="Public when email_public")
    contact_phone = serializers.CharField(required=False, help_text="E.164; public when phone_public")
    tax_id = serializers.CharField(required=False, help_text="Only for the store's staff and admins")
    email_public = serializers.BooleanField(required=False)
    phone_public = serializers.BooleanField(required=False)
    address_public = serializers.BooleanField(required=False)
    pickup_point = PickupPointOutputSerializer(required=False, allow_null=True,
                                               help_text="Only for the store's staff and admins; null until set")

    class Meta:
        model = Vendor
        fields = ["id", "name", "slug", "description", "status", "logo_url", "website", "address", "contact_email",
                  "contact_phone", "owner_id", "tax_id", "email_public", "phone_public", "address_public",
                  "pickup_point", "status_changed_at", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_logo_url(self, vendor: Vendor) -> str | None:
        return default_storage.url(vendor.logo.name) if vendor.logo else None

    @extend_schema_field(VendorAddressSerializer)
    def get_address(self, vendor: Vendor) -> dict:
        return {key: value for key, value in vendor.address_dict().items()}

    def _is_private(self, vendor: Vendor) -> bool:
        private = self.context.get("private_vendor_ids", ())
        return private == "all" or vendor.pk in private

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["contact_phone"] = str(instance.contact_phone or "")
        if self._is_private(instance):
            return data
        for key in PRIVATE_KEYS:
            data.pop(key, None)
        if not instance.email_public:
            data.pop("contact_email", None)
        if not instance.phone_public:
            data.pop("contact_phone", None)
        if not instance.address_public:
            data["address"] = {k: data["address"][k] for k in PUBLIC_ADDRESS_KEYS}
        return data


class VendorRefSerializer(serializers.Serializer):
    """A store named inside another body (an invitation, an auction, a withdrawal)."""

    id = serializers.UUIDField()
    name = serializers.CharField()


class StaffMemberOutputSerializer(serializers.ModelSerializer):
    """A member of a store's staff. ``account_holder``: the owner who applied for the store and
    whose wallet receives its earnings (cannot leave nor be demoted)."""

    user_id = serializers.UUIDField(source="user.id")
    email = serializers.EmailField(source="user.email")
    display_name = serializers.CharField(source="user.display_name")
    role = serializers.ChoiceField(choices=VendorStaffRole.choices)
    account_holder = serializers.SerializerMethodField()
    joined_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = VendorStaff
        fields = ["user_id", "email", "display_name", "role", "account_holder", "joined_at"]
        read_only_fields = fields

    def get_account_holder(self, member: VendorStaff) -> bool:
        return member.user_id == member.vendor.owner_id


class StaffRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=VendorStaffRole.choices)


class InvitationInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=VendorStaffRole.choices, default=VendorStaffRole.STAFF)


class InvitationOutputSerializer(serializers.ModelSerializer):
    """An invitation as the store's owners see it (never its token)."""

    vendor = VendorRefSerializer()
    role = serializers.ChoiceField(choices=VendorStaffRole.choices)
    invited_by_id = serializers.UUIDField(allow_null=True)
    expired = serializers.SerializerMethodField()

    class Meta:
        model = StoreInvitation
        fields = ["id", "vendor", "email", "role", "status", "invited_by_id", "expires_at", "expired", "created_at"]
        read_only_fields = fields

    def get_expired(self, invitation: StoreInvitation) -> bool:
        return invitation.expires_at <= self.context["now"]


class InvitationTokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=128, help_text="The token of the invitation link (after #token=)")


class InvitationPreviewSerializer(serializers.Serializer):
    """What the invitation link's page shows before the invitee signs in: the store, the role,
    the invited e-mail, whether it is still open, and whether an account with that e-mail exists
    (sign in, or register first)."""

    vendor = VendorRefSerializer()
    logo_url = serializers.CharField(allow_null=True)
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=VendorStaffRole.choices)
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    expired = serializers.BooleanField()
    has_account = serializers.BooleanField()
