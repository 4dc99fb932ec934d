"""Reviews and ratings: writes.

**Who and when** (:func:`review_create`): only the buyer of a ``delivered`` order may review its
lines, one review per order line (a unique row), never a line refunded in full (the order
``refunded``, or every unit refunded by returns: ``commerce.reviews.hooks.refunded_line_ids``),
never a product of a store they work for. 1–5 stars, a title and a text (both may be empty),
up to :data:`MAX_PHOTOS` photos uploaded before (:func:`review_photo_upload`: decoded and
re-encoded by ``core.images``). The author edits (:func:`review_edit`) until
``REVIEW_EDIT_DAYS`` (30) after the review, while it is visible. The store's staff post one
public reply (:func:`review_reply`; later calls edit it).

**Moderation**: anyone signed in but the author reports a review once (:func:`review_report`;
marketplace staff are told of the first open report); marketplace staff hide or restore it
with a reason (:func:`review_moderate`, the one owner of
:data:`commerce.reviews.models.REVIEW_TRANSITIONS`), which handles its open reports. A review
counts while it is visible and its line is not refunded in full
(:func:`reviews_lines_refunded`, from the orders signal and from returns).

**Aggregates**: every change of what counts applies its difference (count, sum of stars, one
star bucket up or down), in the transaction of the change, after the review row is locked, to
the product's rating (the catalogue's columns, through ``commerce.catalog.services.
product_rating_apply``, which locks the product row and publishes ``product.rating_changed``)
and to the store's :class:`~commerce.reviews.models.StoreRating` (one relative ``UPDATE``: two
transactions never lose each other's difference, PostgreSQL re-reads the row an ``UPDATE``
waited for; ``average`` is recomputed in the same statement). A rolled-back change takes its
difference with it. :func:`ratings_rebuild` rebuilds both from the reviews
(``commerce.reviews.selectors.rating_recount``; products through ``product_rating_set``).

Events (after commit): ``review.created`` / ``review.updated`` to the author's ``user:`` and the
store's ``vendor:`` topics; ``product.reviews_changed`` (the page's latest reviews) to the
product's ``product:`` topic while it is on sale. Notifications: ``review.created`` (the store's staff), ``review.replied`` (the
author), ``review.moderated`` (the author and the store's staff), ``review.reported``
(marketplace staff).

Lock order: **order → its reviews (pk order) → products (pk order) → store ratings**,
after everything else of the order (returns' refunds call in with their locks held).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Cast, Coalesce, NullIf, Round
from django.utils import timezone

from core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from core.models import User
from core.permissions import marketplace_admins_q
from core.utils import parse_uuid
from notifications.kinds import EMAIL, IN_APP, register_kind
from notifications.services import notify
from realtime.events import Event
from realtime.outbox import publish
from realtime.user_topic import USER_TOPIC

from commerce.catalog.events import PRODUCT_TOPIC
from commerce.catalog.models import Product
from commerce.catalog.services import product_rating_apply, product_rating_set
from commerce.common.photos import photo_store, photos_purge
from commerce.orders.events import VENDOR_TOPIC
from commerce.orders.models import Order, OrderLine, OrderStatus
from commerce.orders.permissions import is_order_buyer
from commerce.orders.services import lock_order
from commerce.reviews.events import ProductReviewsChanged, ReviewCreated, ReviewUpdated
from commerce.reviews.hooks import refunded_line_ids
from commerce.reviews.models import (
    REVIEW_MACHINE,
    STARS,
    ReportReason,
    Review,
    ReviewModeration,
    ReviewPhoto,
    ReviewReport,
    ReviewStatus,
    StoreRating,
)
from commerce.reviews.permissions import (
    can_moderate_reviews,
    can_reply_to_review,
    can_report_review,
    can_view_review,
    is_review_author,
)
from commerce.reviews.selectors import edit_deadline, product_latest_reviews, rating_recount
from commerce.stores.models import VendorStaff
from commerce.stores.permissions import is_store_staff

#: photos per review (the issue's limit)
MAX_PHOTOS = 5
#: bytes per photo before re-encoding (``REVIEW_MAX_PHOTO_BYTES``)
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: photos a user may have uploaded and not attached yet (``REVIEW_MAX_UNATTACHED_PHOTOS``)
MAX_UNATTACHED_PHOTOS = 20

REVIEW_CREATED = register_kind("review.created", description="A buyer reviewed a product of your store.",
                               default_channels=(IN_APP,))
REVIEW_REPLIED = register_kind("review.replied", description="The store answered your review.",
                               default_channels=(IN_APP, EMAIL))
REVIEW_MODERATED = register_kind("review.moderated",
                                 description="Marketplace staff hid or restored a review you wrote or received.",
                                 default_channels=(IN_APP, EMAIL))
REVIEW_REPORTED = register_kind("review.reported", description="A review was reported and waits in the queue.",
                                default_channels=(IN_APP,))


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- aggregates ------------------------------------------------------------------------------


def _apply(model, key: Any, stars: Counter) -> None:
    """Add ``stars`` (``{stars: +n / -n}``) to the aggregate row ``key`` of ``model`` in one
    relative ``UPDATE`` (created first if missing, ``ON CONFLICT DO NOTHING``)."""
    stars = Counter({s: n for s, n in stars.items() if n})
    if not stars:
        return
    d_count = sum(stars.values())
    d_total = sum(s * n for s, n in stars.items())
    model.objects.bulk_create([model(pk=key)], ignore_conflicts=True)
    exact = DecimalField(max_digits=20, decimal_places=10)
    average = Coalesce(Round(Cast(F("total") + d_total, exact) / NullIf(F("count") + d_count, 0), 2),
                       Value(Decimal("0.00")), output_field=DecimalField(max_digits=3, decimal_places=2))
    model.objects.filter(pk=key).update(
        count=F("count") + d_count, total=F("total") + d_total, average=average, updated_at=timezone.now(),
        **{f"stars_{s}": F(f"stars_{s}") + n for s, n in stars.items()})


def _recount_difference(before: tuple[bool, int], after: tuple[bool, int]) -> Counter:
    """The difference between a review counting ``before`` and ``after`` (``(counts, stars)``)."""
    diff: Counter = Counter()
    if before[0]:
        diff[before[1]] -= 1
    if after[0]:
        diff[after[1]] += 1
    return diff


def _apply_to_ratings(changes: Iterable[tuple[Review, Counter]]) -> None:
    """Apply each review's difference to its product's rating (the catalogue's
    ``product_rating_apply``: stars added and removed) and its store's aggregate, products in pk
    order, then stores (the lock order)."""
    by_product: dict[Any, Counter] = {}
    by_store: dict[Any, Counter] = {}
    for review, diff in changes:
        if review.product_id:
            by_product.setdefault(review.product_id, Counter()).update(diff)
        by_store.setdefault(review.vendor_id, Counter()).update(diff)
    for pid in sorted(by_product, key=str):
        diff = by_product[pid]
        add = [star for star, n in sorted(diff.items()) if n > 0 for _ in range(n)]
        remove = [star for star, n in sorted(diff.items()) if n < 0 for _ in range(-n)]
        if add or remove:
            product_rating_apply(product_id=pid, add=add, remove=remove)
    for vid in sorted(by_store, key=str):
        _apply(StoreRating, vid, by_store[vid])


# --- helpers ---------------------------------------------------------------------------------


def _text(value: Any, field: str, *, limit: int, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ApplicationError(f"{field} is required.", code="invalid", fields={field: ["This field is required."]})
    if len(text) > limit:
        raise ApplicationError(f"{field} is longer than {limit} characters.", code="invalid",
                               fields={field: [f"At most {limit} characters."]})
    return text


def _rating(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ApplicationError("Give 1 to 5 stars.", code="invalid", fields={"rating": ["An integer from 1 to 5."]})
    return value


def _store_staff_ids(review: Review) -> list:
    return list(VendorStaff.objects.filter(vendor_id=review.vendor_id).values_list("user_id", flat=True))


def _lock(review_id: Any) -> Review:
    rid = parse_uuid(review_id)
    review = (Review.objects.select_for_update(of=("self",)).select_related("order_line", "vendor", "author")
              .filter(pk=rid).first() if rid else None)
    if review is None:
        raise NotFound("Review not found.", code="review_not_found")
    return review


def _announce(review: Review, event: Event, *, public_change: bool) -> None:
    """Publish ``event`` to the author and the store (after commit) and, when what the public
    sees changed and the product is on sale, the page's latest reviews to its ``product:``
    topic (``product.reviews_changed``; a product off sale stays silent, its page comes back
    whole with ``product.updated``)."""
    publish(topic=USER_TOPIC.name(review.author_id), event=event)
    publish(topic=VENDOR_TOPIC.name(review.vendor_id), event=event)
    if public_change and review.product_id and Product.objects.public().filter(pk=review.product_id).exists():
        publish(topic=PRODUCT_TOPIC.name(review.product_id), event=ProductReviewsChanged.build(
            product_id=review.product_id, latest_reviews=product_latest_reviews(review.product_id)))


def _notify(recipients: Iterable[Any], review: Review, *, kind: str, title: str, body: str, exclude=None) -> None:
    people = [r for r in dict.fromkeys(recipients) if r != exclude]
    if people:
        notify(recipients=people, kind=kind, title=title[:200], body=body[:1000],
               data={"review_id": str(review.pk), "product_id": str(review.product_id or ""),
                     "url": f"/reviews/{review.pk}"}, target=review)


def _take_photos(*, user, photo_ids: Any, review: Review | None) -> list[ReviewPhoto]:
    """The photos ``photo_ids`` of ``user``: unattached, or already ``review``'s. Raises
    ``ApplicationError`` ``too_many_photos`` / ``invalid_photo``."""
    ids = list(dict.fromkeys(parse_uuid(p) for p in (photo_ids or [])))
    if len(ids) > MAX_PHOTOS:
        raise ApplicationError(f"At most {MAX_PHOTOS} photos.", code="too_many_photos",
                               fields={"photo_ids": [f"At most {MAX_PHOTOS}."]})
    if None in ids:
        raise ApplicationError("Unknown photo.", code="invalid_photo", fields={"photo_ids": ["Unknown photo."]})
    photos = list(ReviewPhoto.objects.select_for_update().filter(pk__in=ids, uploaded_by=user))
    usable = [p for p in photos if p.review_id is None or (review is not None and p.review_id == review.pk)]
    if len(usable) != len(ids):
        raise ApplicationError("Attach photos you uploaded and did not attach elsewhere.", code="invalid_photo",
                               fields={"photo_ids": ["Unknown photo."]})
    return usable


# --- photos ----------------------------------------------------------------------------------


def review_photo_upload(*, user, file) -> ReviewPhoto:
    """Store a photo for a later :func:`review_create` / :func:`review_edit` (``photo_ids``):
    JPEG, PNG, GIF or WebP by content, at most ``REVIEW_MAX_PHOTO_BYTES`` (5 MiB), decoded and
    re-encoded without metadata (``core.images.sanitize_image``). Unattached photos are the
    uploader's only and are purged after a day. Raises ``ApplicationError`` 400
    ``invalid_image`` / ``image_too_large``, ``Conflict`` ``too_many_unattached_photos``."""
    return photo_store(ReviewPhoto, user=user, file=file, attached_field="review",
                       max_bytes=_setting("REVIEW_MAX_PHOTO_BYTES", MAX_PHOTO_BYTES),
                       max_unattached=_setting("REVIEW_MAX_UNATTACHED_PHOTOS", MAX_UNATTACHED_PHOTOS))


def review_photos_purge(*, now: datetime | None = None, older_than_hours: float = 24) -> int:
    """Delete photos never attached to a review, uploaded more than ``older_than_hours`` ago,
    with their files (Celery beat, hourly). Returns how many."""
    return photos_purge(ReviewPhoto, attached_field="review", now=now, older_than_hours=older_than_hours)


# --- the author ------------------------------------------------------------------------------


def review_create(*, user, order_line_id: Any, rating: Any, title: Any = "", text: Any = "",
                  photo_ids: Any = ()) -> Review:
    """The buyer reviews one line of a delivered order. Under the order's lock (a refund of the
    order waits, or went first). Raises ``NotFound`` ``order_line_not_found`` (unknown, or not
    the caller's order: nothing to learn), ``Forbidden`` ``own_store`` (staff of the selling
    store), ``Conflict`` ``not_delivered``, ``line_refunded``, ``already_reviewed``;
    ``ApplicationError`` ``invalid`` (stars, lengths), ``too_many_photos``, ``invalid_photo``."""
    stars = _rating(rating)
    title = _text(title, "title", limit=120)
    text = _text(text, "text", limit=4000)
    line_pk = order_line_id if isinstance(order_line_id, int) and not isinstance(order_line_id, bool) else None
    order_id = OrderLine.objects.filter(pk=line_pk).values_list("order_id", flat=True).first() if line_pk else None
    if order_id is None:
        raise NotFound("Order line not found.", code="order_line_not_found")
    with transaction.atomic():
        order = lock_order(order_id)
        if not is_order_buyer(user, order):
            raise NotFound("Order line not found.", code="order_line_not_found")
        if is_store_staff(user, order.vendor_id):
            raise Forbidden("You cannot review a product of a store you work for.", code="own_store")
        if order.status == OrderStatus.REFUNDED:
            raise Conflict("The order was refunded in full.", code="line_refunded")
        if order.status != OrderStatus.DELIVERED:
            raise Conflict("Review a product once its delivery is proven.", code="not_delivered")
        if line_pk in refunded_line_ids(order=order):
            raise Conflict("This line was refunded in full.", code="line_refunded")
        line = OrderLine.objects.get(pk=line_pk)
        photos = _take_photos(user=user, photo_ids=photo_ids, review=None)
        try:
            with transaction.atomic():
                review = Review.objects.create(order_line=line, order=order, product_id=line.product_id,
                                               vendor_id=order.vendor_id, author=user, rating=stars, title=title,
                                               text=text)
        except IntegrityError:
            raise Conflict("You reviewed this line already; edit that review.", code="already_reviewed") from None
        ReviewPhoto.objects.filter(pk__in=[p.pk for p in photos]).update(review=review)
        _apply_to_ratings([(review, _recount_difference((False, 0), (True, stars)))])
        review = Review.objects.select_related("order_line", "vendor", "author").get(pk=review.pk)
        _announce(review, ReviewCreated.build(review=review), public_change=True)
        _notify(_store_staff_ids(review), review, kind=REVIEW_CREATED.name,
                title=f"New {stars}-star review of {line.product_name}"[:200], body=title or text[:200])
        return review


def review_edit(*, user, review_id: Any, rating: Any = None, title: Any = None, text: Any = None,
                photo_ids: Any = None, now: datetime | None = None) -> Review:
    """The author changes stars, title, text or photos (``None`` keeps a field; ``photo_ids``
    is the full new list) until ``REVIEW_EDIT_DAYS`` after the review, while it is visible.
    Raises ``NotFound`` ``review_not_found``, ``Forbidden`` ``review_action_not_allowed`` (not the
    author), ``Conflict`` ``edit_window_closed``, ``review_hidden``; ``ApplicationError``
    ``invalid``, ``too_many_photos``, ``invalid_photo``."""
    now = now or timezone.now()
    with transaction.atomic():
        review = _lock(review_id)
        if not is_review_author(user, review):
            _refuse(user, review, doing="edits a review")
        if review.status != ReviewStatus.VISIBLE:
            raise Conflict("A hidden review cannot be edited.", code="review_hidden")
        if now >= edit_deadline(review):
            raise Conflict("Reviews may be edited for 30 days.", code="edit_window_closed")
        before = (review.counts, review.rating)
        if rating is not None:
            review.rating = _rating(rating)
        if title is not None:
            review.title = _text(title, "title", limit=120)
        if text is not None:
            review.text = _text(text, "text", limit=4000)
        if photo_ids is not None:
            keep = _take_photos(user=user, photo_ids=photo_ids, review=review)
            dropped = list(review.photos.exclude(pk__in=[p.pk for p in keep]))
            for photo in dropped:
                photo.file.delete(save=False)
            ReviewPhoto.objects.filter(pk__in=[p.pk for p in dropped]).delete()
            ReviewPhoto.objects.filter(pk__in=[p.pk for p in keep]).update(review=review)
        review.edited_at = now
        review.save()
        _apply_to_ratings([(review, _recount_difference(before, (review.counts, review.rating)))])
        _announce(review, ReviewUpdated.build(review=review, change="edited"), public_change=review.counts)
        return review


# --- the store -------------------------------------------------------------------------------


def review_reply(*, user, review_id: Any, text: Any, now: datetime | None = None) -> Review:
    """The store's one public reply: the first call posts it, later ones edit it. The store's
    staff only (``can_reply_to_review``). Raises ``NotFound`` ``review_not_found``, ``Forbidden``
    ``review_action_not_allowed``, ``ApplicationError`` ``invalid``."""
    now = now or timezone.now()
    body = _text(text, "text", limit=4000, required=True)
    with transaction.atomic():
        review = _lock(review_id)
        if not can_reply_to_review(user, review):
            _refuse(user, review, doing="answers a review for the store")
        change = "reply_edited" if review.replied_at else "replied"
        review.reply_text = body
        review.reply_by = user
        if change == "replied":
            review.replied_at = now
        else:
            review.reply_edited_at = now
        review.save()
        _announce(review, ReviewUpdated.build(review=review, change=change), public_change=review.counts)
        if change == "replied":
            _notify([review.author_id], review, kind=REVIEW_REPLIED.name,
                    title=f"{review.vendor.name} answered your review", body=body[:300])
        return review


# --- reports and moderation ------------------------------------------------------------------


def review_report(*, user, review_id: Any, reason: str, text: Any = "") -> ReviewReport:
    """Report a visible review (anyone signed in but its author; once per person). The first
    open report tells marketplace staff. Raises ``NotFound`` ``review_not_found``, ``Forbidden``
    ``review_action_not_allowed`` (the author), ``Conflict`` ``already_reported``,
    ``review_hidden``; ``ApplicationError`` ``invalid``."""
    if reason not in ReportReason.values:
        raise ApplicationError("Unknown reason.", code="invalid", fields={"reason": ["Unknown reason."]})
    note = _text(text, "text", limit=1000)
    with transaction.atomic():
        review = _lock(review_id)
        if not can_view_review(user, review):
            raise NotFound("Review not found.", code="review_not_found")
        if not can_report_review(user, review):
            raise Forbidden("You cannot report your own review.", code="review_action_not_allowed")
        if review.status != ReviewStatus.VISIBLE:
            raise Conflict("This review is hidden already.", code="review_hidden")
        try:
            with transaction.atomic():
                report = ReviewReport.objects.create(review=review, reporter=user, reason=reason, text=note)
        except IntegrityError:
            raise Conflict("You reported this review already.", code="already_reported") from None
        review.open_reports += 1
        review.save(update_fields=["open_reports", "updated_at"])
        if review.open_reports == 1:
            staff = User.objects.filter(marketplace_admins_q()).values_list("pk", flat=True)
            _notify(staff, review, kind=REVIEW_REPORTED.name, exclude=user.pk,
                    title=f"Review of {review.order_line.product_name} reported ({reason})", body=note[:300])
        return report


def review_moderate(*, user, review_id: Any, to_status: str, reason: Any, now: datetime | None = None) -> Review:
    """Marketplace staff hide (``to_status="hidden"``) or restore (``"visible"``) a review with a
    reason the author and the store see; its open reports are handled. Raises ``NotFound``
    ``review_not_found`` (not staff and cannot see it), ``Forbidden`` ``review_action_not_allowed``,
    ``InvalidTransition`` (409: hiding a hidden review), ``ApplicationError`` ``invalid``."""
    now = now or timezone.now()
    why = _text(reason, "reason", limit=500, required=True)
    if to_status not in ReviewStatus.values:
        raise ApplicationError("Unknown status.", code="invalid", fields={"to_status": ["visible or hidden."]})
    with transaction.atomic():
        review = _lock(review_id)
        if not can_moderate_reviews(user):
            _refuse(user, review, doing="hide or restore reviews")
        REVIEW_MACHINE.check(review.status, to_status)
        before = (review.counts, review.rating)
        ReviewModeration.objects.create(review=review, from_status=review.status, to_status=to_status, reason=why,
                                        actor=user)
        review.status = to_status
        review.moderation_reason = why
        review.moderated_at = now
        review.open_reports = 0
        review.save()
        ReviewReport.objects.filter(review=review, handled_at=None).update(handled_at=now)
        _apply_to_ratings([(review, _recount_difference(before, (review.counts, review.rating)))])
        change = "hidden" if to_status == ReviewStatus.HIDDEN else "restored"
        _announce(review, ReviewUpdated.build(review=review, change=change), public_change=before[0] != review.counts)
        _notify([review.author_id, *_store_staff_ids(review)], review, kind=REVIEW_MODERATED.name, exclude=user.pk,
                title=f"A review of {review.order_line.product_name} was {change} by marketplace staff", body=why)
        return review


def _refuse(user, review: Review, *, doing: str) -> None:
    """Strangers who cannot read the review get ``NotFound``; others ``Forbidden``."""
    if not can_view_review(user, review):
        raise NotFound("Review not found.", code="review_not_found")
    raise Forbidden(f"Only the right person {doing}.", code="review_action_not_allowed")


# --- refunds ---------------------------------------------------------------------------------


def reviews_lines_refunded(*, order: Order, line_ids: Iterable[int] | None = None) -> int:
    """Lines of a *locked* ``order`` were refunded in full (``line_ids``; None: every line, the
    order was refunded): their reviews stop counting (``line_refunded``), the aggregates lose
    them, ``review.updated`` ``line_refunded``. Idempotent. Called in the refund's transaction
    (by ``commerce.reviews.receivers`` on ``order_status_changed`` → ``refunded``, and by returns).
    Returns how many reviews changed."""
    qs = Review.objects.filter(order=order, line_refunded=False)
    if line_ids is not None:
        qs = qs.filter(order_line_id__in=list(line_ids))
    reviews = list(qs.select_for_update(of=("self",)).select_related("order_line", "vendor", "author").order_by("pk"))
    changes = []
    for review in reviews:
        before = (review.counts, review.rating)
        review.line_refunded = True
        review.save(update_fields=["line_refunded", "updated_at"])
        changes.append((review, _recount_difference(before, (review.counts, review.rating))))
    _apply_to_ratings(changes)
    for review, diff in changes:
        _announce(review, ReviewUpdated.build(review=review, change="line_refunded"), public_change=bool(diff))
    return len(reviews)


def ratings_rebuild() -> dict[str, int]:
    """Rebuild every product and store rating from the reviews (``manage.py reviews_recount``,
    e.g. after reviews were changed outside the services): each is replaced by
    ``commerce.reviews.selectors.rating_recount`` under its row lock, a product's through the
    catalogue's ``product_rating_set`` (which publishes ``product.rating_changed`` when it
    changed). Returns ``{"products", "stores", "corrected"}`` (how many were checked and how
    many differed)."""
    product_ids = set(Review.objects.exclude(product=None).values_list("product_id", flat=True)) | set(
        Product.objects.filter(rating_count__gt=0).values_list("pk", flat=True))
    vendor_ids = set(Review.objects.values_list("vendor_id", flat=True)) | set(
        StoreRating.objects.values_list("pk", flat=True))
    corrected = 0
    for pid in sorted(product_ids, key=str):
        with transaction.atomic():
            stored = Product.objects.select_for_update().filter(pk=pid).values_list("rating_distribution", flat=True).first()
            if stored is None:  # deleted meanwhile
                continue
            truth = rating_recount(product_id=pid)
            distribution = [truth[f"stars_{s}"] for s in STARS]
            if list(stored) != distribution:
                corrected += 1
                product_rating_set(product_id=pid, distribution=distribution)
    for vid in sorted(vendor_ids, key=str):
        with transaction.atomic():
            StoreRating.objects.bulk_create([StoreRating(pk=vid)], ignore_conflicts=True)
            row = StoreRating.objects.select_for_update().get(pk=vid)
            truth = rating_recount(vendor_id=vid)
            if any(getattr(row, name) != value for name, value in truth.items()):
                corrected += 1
                StoreRating.objects.filter(pk=vid).update(**truth, updated_at=timezone.now())
    return {"products": len(product_ids), "stores": len(vendor_ids), "corrected": corrected}
