"""What the returns room provides to the rooms below it: which lines returns refunded in full
(``commerce.reviews.hooks.refunded_line_ids``: such a line cannot be reviewed)."""

from __future__ import annotations

from commerce.returns.selectors import fully_refunded_line_ids
from commerce.reviews import hooks as review_hooks


def connect() -> None:
    """Provide the hooks (``CommerceConfig.ready``)."""
    review_hooks.refunded_line_ids.provide(fully_refunded_line_ids)
