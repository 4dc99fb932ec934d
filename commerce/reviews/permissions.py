"""Permission predicates of reviews: who writes, answers, reads, reports and moderates a review.

Style of the vocabulary (docs/architecture.md, "Permission vocabulary"):
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. A review has its author (the order's buyer), the store (its staff answer in public) and
marketplace admins (hide and restore). Whether a buyer may review a line *now* (delivered, not
refunded, not yet reviewed) is a rule of the service (``commerce.reviews.services``), not a
permission.
"""

from __future__ import annotations

from django.db.models import Q

from core.permissions import is_active_user, is_marketplace_admin

from commerce.reviews.models import COUNTED, Review
from commerce.stores.permissions import is_store_staff, store_ids_of


def is_review_author(user, review: Review) -> bool:
    """The review's author (the buyer of its order line). No query."""
    return is_active_user(user) and review.author_id == user.pk


def can_reply_to_review(user, review: Review) -> bool:
    """Who posts and edits the store's public reply: the staff of the reviewed store (any role),
    never the review's own author. At most one query."""
    return not is_review_author(user, review) and is_store_staff(user, review.vendor_id)


def can_view_review(user, review: Review) -> bool:
    """Who reads a review: anyone while it counts (visible, its line not refunded); otherwise its
    author, the store's staff and marketplace admins. At most one query."""
    return (review.counts or is_review_author(user, review) or is_marketplace_admin(user)
            or is_store_staff(user, review.vendor_id))


def can_report_review(user, review: Review) -> bool:
    """Who reports a review: any active user but its author. No query."""
    return is_active_user(user) and not is_review_author(user, review)


def can_moderate_reviews(user) -> bool:
    """Who hides and restores reviews and works the report queue: a marketplace admin."""
    return is_marketplace_admin(user)


def visible_reviews_q(user) -> Q:
    """The queryset form of :func:`can_view_review` for ``Review`` rows."""
    if is_marketplace_admin(user):
        return Q()
    if not is_active_user(user):
        return COUNTED
    return COUNTED | Q(author=user) | Q(vendor_id__in=store_ids_of(user))
