"""Permission predicates of the shipping room (style: ``docs/architecture.md``, "Permission
vocabulary"). Changing a store's zones and methods is ``commerce.stores.permissions.can_manage_store``."""

from __future__ import annotations

from core.permissions import is_marketplace_admin

from commerce.stores.models import Vendor
from commerce.stores.permissions import is_store_staff


def can_see_all_shipping_methods(user, vendor: Vendor) -> bool:
    """Who sees a store's switched-off methods too (everyone sees an active store's active
    ones): its staff, a marketplace admin. One query at most."""
    return is_marketplace_admin(user) or is_store_staff(user, vendor)
