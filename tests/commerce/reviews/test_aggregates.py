"""The ratings of products (the catalogue's columns ``rating_count``, ``rating_sum``,
``rating_distribution``) and of stores (``StoreRating``) stay exactly what their counted reviews
add up to (``commerce.reviews.selectors.rating_recount``, one query): after randomized sequences of
create, edit, hide, restore, a returned-and-refunded line and a refunded order; and when buyers
review one product at the same moment, or staff hide a review while its author edits it (real
threads, real PostgreSQL)."""

from __future__ import annotations

import io
import random

import pytest
from django.core.management import call_command

from commerce.catalog.models import Product
from commerce.orders.models import OrderLine
from commerce.payments import services as payments
from commerce.returns import services as returns
from commerce.reviews import services as reviews
from commerce.reviews.models import STARS, Review, StoreRating
from commerce.reviews.selectors import average_of, rating_recount
from core.exceptions import ApplicationError
from tests.factories.commerce import ProductFactory, VendorFactory
from tests.factories.core import AdminFactory
from tests.factories.returns import delivered_order_of, inspected
from tests.factories.reviews import line_ids, reviewed
from tests.races import race

FIELDS = ("count", "total", *(f"stars_{s}" for s in STARS), "average")


def stored_store(vendor_id) -> dict:
    row = StoreRating.objects.filter(pk=vendor_id).first()
    if row is None:
        return {"count": 0, "total": 0, **{f"stars_{s}": 0 for s in STARS}, "average": average_of(0, 0)}
    return {f: getattr(row, f) for f in FIELDS}


def stored_product(product_id) -> dict:
    """The product's rating columns in the recount's terms (a product stores no average)."""
    count, total, distribution = Product.objects.filter(pk=product_id).values_list(
        "rating_count", "rating_sum", "rating_distribution").get()
    return {"count": count, "total": total, **{f"stars_{s}": distribution[s - 1] for s in STARS}}


def assert_exact(product_ids, vendor_ids) -> None:
    for pid in product_ids:
        truth = rating_recount(product_id=pid)
        del truth["average"]
        assert stored_product(pid) == truth, f"product {pid}"
    for vid in vendor_ids:
        assert stored_store(vid) == rating_recount(vendor_id=vid), f"store {vid}"


def test_the_average_is_rounded_half_up_to_two_places():
    assert [str(average_of(t, c)) for t, c in ((0, 0), (5, 1), (13, 3), (14, 3), (9, 8), (7, 6))] == [
        "0.00", "5.00", "4.33", "4.67", "1.13", "1.17"]


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [17, 2026])
def test_aggregates_equal_a_recount_after_a_random_sequence_of_changes(seed):
    rng = random.Random(seed)
    store, other_store = VendorFactory(), VendorFactory()
    lines: list[tuple] = []  # (order, line id)
    orders = []
    for vendor in (store, store, store, other_store):
        order = delivered_order_of([("10.00", 2), ("7.50", 1), ("3.20", 1)], vendor=vendor)
        orders.append(order)
        lines += [(order, line) for line in line_ids(order)]
    product_ids = {pid for o in orders for pid in o.lines.values_list("product_id", flat=True)}
    vendor_ids = {store.pk, other_store.pk}
    staff = AdminFactory()
    done = []
    for _ in range(45):
        op = rng.choice(["create", "create", "edit", "hide", "restore", "return", "refund_order"])
        try:
            if op == "create":
                order, line = rng.choice(lines)
                reviewed(order, line=line, rating=rng.choice(list(STARS)))
            elif op == "edit":
                review = rng.choice(list(Review.objects.all()) or [None])
                if review:
                    reviews.review_edit(user=review.author, review_id=review.pk, rating=rng.choice(list(STARS)))
            elif op in ("hide", "restore"):
                review = rng.choice(list(Review.objects.all()) or [None])
                if review:
                    reviews.review_moderate(user=staff, review_id=review.pk, reason="Random.",
                                            to_status="hidden" if op == "hide" else "visible")
            elif op == "return":
                order, line = rng.choice(lines)
                quantity = order.lines.get(pk=line).quantity
                rma = inspected(order, lines=[{"order_line_id": line, "quantity": quantity}], reason="damaged")
                returns.return_refund(user=order.vendor.owner, return_id=rma.pk)
            else:
                order = rng.choice(orders)
                payments.refund_create(user=order.vendor.owner, order_id=order.pk)
            done.append(op)
        except ApplicationError:
            done.append(f"{op} refused")
        assert_exact(product_ids, vendor_ids)
    # the sequence did exercise the rules, not just refusals
    assert {"create", "edit", "hide", "restore"} <= set(done)
    assert Review.objects.filter(line_refunded=True).exists() or "return" not in done


@pytest.mark.django_db(transaction=True)
def test_buyers_reviewing_one_product_at_once_are_all_counted():
    vendor = VendorFactory()
    product = ProductFactory(vendor=vendor, stock=50, price="9.00")
    orders = [delivered_order_of([("9.00", 1)], vendor=vendor) for _ in range(6)]
    # every order is of a new product of the store: move their lines onto one product
    OrderLine.objects.filter(order__in=orders).update(product=product)
    stars = [5, 4, 4, 3, 1, 5]
    results = race(*[lambda o=o, s=s: reviewed(o, rating=s).rating for o, s in zip(orders, stars)])
    assert sorted(results) == sorted(stars)
    product.refresh_from_db()
    assert (product.rating_count, product.rating_sum, product.rating_distribution) == (6, 22, [1, 0, 1, 2, 2])
    assert_exact([product.pk], [vendor.pk])


@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_hide_and_a_second_review_of_the_line_keep_the_ratings_exact():
    order = delivered_order_of([("9.00", 1), ("4.00", 1)])
    first, second = line_ids(order)
    review = reviewed(order, line=first, rating=2)
    results = race(lambda: reviews.review_edit(user=order.buyer, review_id=review.pk, rating=5).rating,
                   lambda: reviews.review_moderate(user=AdminFactory(), review_id=review.pk, to_status="hidden",
                                                   reason="Spam.").status,
                   lambda: reviewed(order, line=second, rating=3).rating,
                   lambda: reviewed(order, line=second, rating=1).rating)
    assert results.count("already_reviewed") == 1 and "hidden" in results
    products = set(order.lines.values_list("product_id", flat=True))
    assert_exact(products, [order.vendor_id])
    assert Product.objects.filter(pk__in=products).count() == 2


@pytest.mark.django_db
def test_reviews_recount_rebuilds_ratings_changed_behind_the_services_back():
    order = delivered_order_of([("9.00", 1), ("4.00", 1)])
    first, second = line_ids(order)
    review = reviewed(order, line=first, rating=5)
    reviewed(order, line=second, rating=2)
    Product.objects.filter(pk=review.product_id).update(rating_count=2, rating_sum=3, rating_distribution=[1, 1, 0, 0, 0])
    StoreRating.objects.filter(pk=order.vendor_id).update(count=9, stars_1=9)
    out = io.StringIO()
    call_command("reviews_recount", stdout=out)
    assert "corrected 2" in out.getvalue()
    assert_exact(set(order.lines.values_list("product_id", flat=True)), [order.vendor_id])
    out = io.StringIO()
    call_command("reviews_recount", stdout=out)
    assert "corrected 0" in out.getvalue()
