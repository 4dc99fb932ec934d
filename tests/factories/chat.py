"""Factories of the chat.

``ConversationFactory()`` is a conversation between a new buyer and a new active vendor about one
of its products, created through ``chat.services.conversation_start`` (read states included).
Messages must get their seq under the conversation lock, so they are sent through the service:
``send(conversation, user, "text")`` or ``send_many(conversation, user, 5)``.
"""

from __future__ import annotations

from typing import Any

from chat import services
from chat.models import Conversation, Message
from tests.factories.commerce import ProductFactory, VendorStaffFactory
from tests.factories.core import UserFactory


def ConversationFactory(*, buyer=None, product=None, vendor=None, staff: int = 0) -> Conversation:  # noqa: N802
    """A conversation about ``product`` (default: a new product of ``vendor`` or of a new active
    vendor). ``staff`` adds that many staff members to the vendor besides its owner."""
    buyer = buyer or UserFactory()
    product = product or (ProductFactory(vendor=vendor) if vendor is not None else ProductFactory())
    for _ in range(staff):
        VendorStaffFactory(vendor=product.vendor)
    return services.conversation_start(
        user=buyer, vendor_id=product.vendor_id, context_type="product", context_id=product.pk
    ).conversation


def send(conversation: Conversation, user, text: str = "Hello", **kwargs: Any) -> Message:
    """Send ``text`` as ``user`` (no rate limit, no offline notification unless asked)."""
    kwargs.setdefault("enforce_rate_limit", False)
    kwargs.setdefault("notify_offline", False)
    return services.message_send(user=user, conversation_id=conversation.pk, text=text, **kwargs).message


def send_many(conversation: Conversation, user, n: int, *, prefix: str = "m") -> list[Message]:
    return [send(conversation, user, f"{prefix}{i}") for i in range(1, n + 1)]
