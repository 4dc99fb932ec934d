"""Reviews for tests, through the real services: a delivered order (``tests.factories.returns``)
and reviews of its lines by its buyer."""

from __future__ import annotations

from commerce.orders.models import Order
from commerce.reviews import services as reviews
from commerce.reviews.models import Review


def line_ids(order: Order) -> list[int]:
    """The ids of ``order``'s lines, in order."""
    return list(order.lines.order_by("id").values_list("id", flat=True))


def reviewed(order: Order, *, line: int | None = None, rating: int = 4, title: str = "Good",
             text: str = "Does the job.", **kw) -> Review:
    """The buyer of ``order`` reviews ``line`` (its first line by default)."""
    return reviews.review_create(user=order.buyer, order_line_id=line or line_ids(order)[0], rating=rating,
                                 title=title, text=text, **kw)
