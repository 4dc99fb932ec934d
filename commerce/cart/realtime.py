"""The ``cart:<user_id>`` topic: live cart sync across a user's devices.

Only the owner may subscribe (``core.permissions.is_account_owner``). The snapshot and every command reply is
the cart response (``commerce.cart.selectors.cart_data``); every change is also broadcast as a
``cart.updated`` event with the same data (``version`` grows by one per change).

Commands (``data`` validated by the same serializers as REST, then the same services):

- ``add_item`` ``{"product_id", "quantity"}``
- ``set_quantity`` ``{"item_id" | "product_id", "quantity"}``
- ``remove_item`` ``{"item_id"}``
- ``clear`` ``{}``

Refusals carry the REST codes: ``invalid``, ``insufficient_stock``, ``product_not_found``,
``product_unavailable``, ``currency_mismatch``, ``quantity_limit``, ``cart_full``,
``cart_item_not_found``, ``forbidden``.
"""

from __future__ import annotations

from typing import Any

from core.exceptions import Forbidden
from core.permissions import is_account_owner
from core.utils import validated_command
from realtime.registry import Topic, command, register

from commerce.cart import services
from commerce.cart.events import CART_TOPIC
from commerce.cart.serializers import (
    CartItemAddInputSerializer,
    CartRemoveItemCommandSerializer,
    CartSetQuantityCommandSerializer,
)


@register
class CartTopic(Topic):
    """``cart:<user_id>``: owner only; snapshot and command replies are the cart response."""

    kind = CART_TOPIC.kind

    def authorize(self, *, user, key: str) -> bool:
        return is_account_owner(user, key)

    def _check(self, user, key: str) -> None:
        if not self.authorize(user=user, key=key):
            raise Forbidden(f"You may not use {CART_TOPIC.name(key)}.", code="forbidden")

    def snapshot(self, *, user, key: str) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_get(user=user).data

    @command("add_item")
    def add_item(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_add_item(user=user, **validated_command(CartItemAddInputSerializer, data)).data

    @command("set_quantity")
    def set_quantity(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_set_quantity(user=user, **validated_command(CartSetQuantityCommandSerializer, data)).data

    @command("remove_item")
    def remove_item(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_remove_item(user=user, **validated_command(CartRemoveItemCommandSerializer, data)).data

    @command("clear")
    def clear(self, *, user, key: str, data: dict) -> dict[str, Any]:
        self._check(user, key)
        return services.cart_clear(user=user).data
