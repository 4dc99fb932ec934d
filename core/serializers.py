"""Input and output serializers of the accounts API (``core.api``).

Input serializers only check shapes and types; the rules live in ``core.services``. Output
serializers describe what the API returns (and the OpenAPI schema).
"""

from __future__ import annotations

import decimal

from rest_framework import serializers

from core.exceptions import ApplicationError
from core.models import Address, Role, User
from core.services import ADDRESS_FIELDS, validate_country, validate_phone


def _service_validated(fn, value, field):
    """Run a ``core.services`` validator and turn its ApplicationError into a field error."""
    try:
        return fn(value)
    except ApplicationError as exc:
        messages = (exc.fields or {}).get(field) or [exc.detail]
        raise serializers.ValidationError(messages) from None


class CoordinateField(serializers.DecimalField):
    """A latitude or longitude in decimal degrees: any number within the bounds, rounded to 6
    decimal places (about 0.1 m) instead of being refused for extra precision."""

    def __init__(self, *, bound: int, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(max_digits=9, decimal_places=6, min_value=-bound, max_value=bound, **kwargs)

    def validate_precision(self, value):
        try:
            value = value.quantize(decimal.Decimal("0.000001"), rounding=decimal.ROUND_HALF_EVEN)
        except decimal.InvalidOperation:
            self.fail("max_whole_digits", max_whole_digits=self.max_whole_digits)
        return super().validate_precision(value)


def _password_field(max_length: int = 128) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )


# --- accounts ----------------------------------------------------------------------------------


class AccountOutputSerializer(serializers.ModelSerializer):
    """The signed-in user's account (``/me/``, registration response)."""

    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "display_name", "phone", "roles", "date_joined")
        read_only_fields = fields


class RegisterInputSerializer(serializers.Serializer):
    """Registration: ``email``, ``password`` (checked by the password validators in the service),
    optional ``display_name``."""

    email = serializers.EmailField(max_length=254)
    password = _password_field()
    display_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class MeUpdateInputSerializer(serializers.Serializer):
    """Editable profile fields; ``email`` and ``roles`` are read-only (ignored when sent)."""

    display_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)

    def validate_phone(self, value: str) -> str:
        return _service_validated(validate_phone, value, "phone")


# --- tokens ------------------------------------------------------------------------------------


class TokenObtainInputSerializer(serializers.Serializer):
    """Sign-in credentials."""

    email = serializers.CharField(max_length=254, help_text="Compared case-insensitively.")
    password = _password_field(4096)


class TokenPairOutputSerializer(serializers.Serializer):
    """``{access, refresh}`` JWTs (from a :class:`core.services.TokenPair`)."""

    access = serializers.CharField(help_text="Access JWT (HS256, short-lived); send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Refresh JWT; single use: each refresh returns a new one.")


class TokenRefreshInputSerializer(serializers.Serializer):
    """The refresh token to exchange."""

    refresh = serializers.CharField(max_length=4096)


class LogoutInputSerializer(serializers.Serializer):
    """The refresh token to blacklist."""

    refresh = serializers.CharField(max_length=4096, help_text="The refresh token of this session.")


# --- password reset ----------------------------------------------------------------------------


class PasswordResetInputSerializer(serializers.Serializer):
    """The email to send a reset link to."""

    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    """``uid`` and ``token`` from the emailed link and the new password."""

    uid = serializers.CharField(max_length=128, help_text="`uid` of the emailed link.")
    token = serializers.CharField(max_length=256, help_text="`token` of the emailed link.")
    new_password = _password_field()


# --- addresses ---------------------------------------------------------------------------------


class AddressOutputSerializer(serializers.ModelSerializer):
    """A saved address; coordinates as decimal strings or ``null``."""

    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True, read_only=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True, read_only=True)

    class Meta:
        model = Address
        fields = ("id", *ADDRESS_FIELDS, "created_at")
        read_only_fields = fields


class AddressInputSerializer(serializers.Serializer):
    """A saved address. ``country`` is an ISO 3166-1 alpha-2 code (any case); ``latitude`` and
    ``longitude`` (decimal degrees, WGS 84) are optional but go together. Without ``partial``
    (create, PUT) omitted optional fields take their defaults; with ``partial`` (PATCH) they are
    left unchanged."""

    label = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    full_name = serializers.CharField(max_length=120)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166-1 alpha-2, e.g. `DE`.")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    latitude = CoordinateField(bound=90, default=None)
    longitude = CoordinateField(bound=180, default=None)
    is_default_shipping = serializers.BooleanField(required=False, default=False)
    is_default_billing = serializers.BooleanField(required=False, default=False)

    def validate_country(self, value: str) -> str:
        return _service_validated(validate_country, value, "country")

    def validate_phone(self, value: str) -> str:
        return _service_validated(validate_phone, value, "phone")

    def validate(self, attrs: dict) -> dict:
        if not self.partial:
            lat, lon = attrs.get("latitude"), attrs.get("longitude")
            if (lat is None) != (lon is None):
                missing = "latitude" if lat is None else "longitude"
                raise serializers.ValidationError({missing: ["Give both latitude and longitude, or neither."]})
        return attrs
