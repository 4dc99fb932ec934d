"""Hooks of the payments room: what it asks the disputes room above it (``core.hooks``), provided
once at start-up by ``commerce.disputes.receivers``. An open dispute freezes an order's escrow.

``open_disputes() -> QuerySet`` — the open disputes (rows with ``pk`` and ``order`` /
``order_id``), for lookups and subqueries.

``buyer_has_disputed(*, order) -> bool`` — whether the buyer ever opened a dispute about
``order`` (then they may not open another).
"""

from core.hooks import Hook


open_disputes: Hook = Hook("commerce.payments.open_disputes")


buyer_has_disputed: Hook = Hook("commerce.payments.buyer_has_disputed")
