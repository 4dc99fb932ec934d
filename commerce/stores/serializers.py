"""Input and output serializers of the stores API."""

from __future__ import annotations

from rest_framework import serializers

from commerce.stores.models import Vendor


class VendorApplyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class VendorRefSerializer(serializers.Serializer):
    """A store named inside another body (an order, a dispute's order, an auction)."""

    id = serializers.UUIDField()
    name = serializers.CharField()


class VendorOutputSerializer(serializers.ModelSerializer):
    """A store. ``owner_id`` (who owns it) is private: rendered only for the store's own staff and
    marketplace admins, i.e. when the context's ``private_vendor_ids``
    (``commerce.stores.selectors.vendor_private_ids``) is ``"all"`` or holds the store's id; everyone else
    gets the store without the key."""

    owner_id = serializers.UUIDField(required=False, help_text="Only for the store's staff and admins")

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
