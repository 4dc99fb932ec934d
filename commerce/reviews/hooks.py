"""Hooks of the reviews room: what it asks the rooms above it (``core.hooks``), provided once
at start-up (``commerce.returns.receivers``).

``refunded_line_ids(*, order) -> set[int]`` — the ids of the lines of ``order`` that returns
refunded in full (every unit refunded): a buyer may not review them, and their reviews stop
counting (returns also tells :func:`commerce.reviews.services.reviews_lines_refunded` when it
happens).
"""

from core.hooks import Hook

refunded_line_ids: Hook = Hook("commerce.reviews.refunded_line_ids")
