"""What the disputes room provides to the rooms below it: open disputes freeze escrows
(``commerce.payments.hooks``) and show on the store's desk (``commerce.orders.hooks``)."""

from __future__ import annotations

from commerce.disputes.selectors import buyer_has_disputed, open_disputes, vendor_desk_disputes
from commerce.orders import hooks as order_hooks
from commerce.payments import hooks as payment_hooks


def connect() -> None:
    """Provide the hooks (``CommerceConfig.ready``)."""
    payment_hooks.open_disputes.provide(open_disputes)
    payment_hooks.buyer_has_disputed.provide(buyer_has_disputed)
    order_hooks.vendor_desk_extras.provide(vendor_desk_disputes)
