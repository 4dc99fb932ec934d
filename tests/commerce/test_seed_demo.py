"""``manage.py seed_demo``: creates the demo marketplace once; a second run creates nothing."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command

from commerce.catalog.models import Category, Product, ProductImage
from commerce.stores.models import Vendor, VendorStatus
from core.models import Address, Role, User
from core.permissions import is_marketplace_admin

pytestmark = pytest.mark.django_db


def counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_seed_demo_creates_the_demo_marketplace_and_is_idempotent(settings, debug_on, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)  # its run time is measured by make run's start-up, not asserted
    first = counts()

    assert Product.objects.alive().count() >= 200
    assert Product.objects.filter(stock__gt=0).count() >= 150
    photos = ProductImage.objects.exclude(file="")
    assert photos.count() == 12 and photos.filter(is_primary=True).count() == 6  # 3 products x 2 per active store
    for photo in photos:
        assert all((tmp_path / f.name).is_file() for f in (photo.file, photo.thumbnail_small, photo.thumbnail_large))
    sample = Product.objects.order_by("sku").first()
    assert {"brand", "fits", "material"} <= set(sample.attributes)
    statuses = dict(Vendor.objects.values_list("owner__email", "status"))
    assert statuses == {
        "vendor1@demo.market": VendorStatus.ACTIVE,
        "vendor2@demo.market": VendorStatus.ACTIVE,
        "vendor3@demo.market": VendorStatus.PENDING,
    }
    assert Role.VENDOR in User.objects.get(email="vendor1@demo.market").roles
    admin = User.objects.get(email="admin@demo.market")
    assert is_marketplace_admin(admin) and admin.check_password(settings.DEMO_PASSWORD)
    for email in ["buyer1@demo.market", "buyer2@demo.market", "buyer3@demo.market"]:
        address = Address.objects.get(user__email=email)
        assert address.latitude is not None and address.longitude is not None
    assert User.objects.filter(email__in=["courier1@demo.market", "courier2@demo.market"], roles__contains=["courier"]).count() == 2
    leaf = Category.objects.get(slug="oil-filters")
    assert leaf.parent.slug == "filters" and leaf.parent.parent.slug == "engine"
    assert "seed_demo: created" in out.getvalue()
    assert_after_sales()

    skus = sorted(Product.objects.values_list("sku", "price"))
    out2 = io.StringIO()
    call_command("seed_demo", stdout=out2)
    assert counts() == first
    assert sorted(Product.objects.values_list("sku", "price")) == skus
    assert "nothing (already seeded)" in out2.getvalue()


def assert_after_sales():
    """Issue 17 §5: a delivered order inside its return window, a return in each state, reviews
    with a store reply and one hidden, a ticket in each state (``support.demo``)."""
    from commerce.orders.models import Order, OrderStatus
    from commerce.returns.models import ReturnRequest, ReturnStatus
    from commerce.returns.selectors import returnable_data
    from commerce.reviews.models import Review, ReviewReport, ReviewStatus
    from support.models import Ticket, TicketNote, TicketStatus

    buyer1_order = Order.objects.get(buyer__email="buyer1@demo.market", vendor__owner__email="vendor2@demo.market")
    returnable = returnable_data(order=buyer1_order)
    assert buyer1_order.status == OrderStatus.DELIVERED and returnable["open"] is True
    assert [line["returnable_quantity"] for line in returnable["lines"]] == [1, 1]

    returns = ReturnRequest.objects.filter(order__buyer__email="buyer2@demo.market")
    assert sorted(returns.values_list("status", flat=True)) == sorted(ReturnStatus.values)
    refunded = returns.get(status=ReturnStatus.REFUNDED)
    assert refunded.refund_amount == refunded.lines.get().paid_amount > 0  # arrived damaged: in full
    partial = returns.get(status=ReturnStatus.PARTIALLY_REFUNDED)
    assert 0 < partial.refund_amount < partial.lines.get().paid_amount  # less the restocking fee
    assert returns.get(status=ReturnStatus.REJECTED_AFTER_INSPECTION).refund_amount == 0
    assert returns.get(status=ReturnStatus.IN_TRANSIT).tracking_number

    demo_reviews = Review.objects.filter(author__email="buyer2@demo.market")
    assert demo_reviews.count() == 3
    assert demo_reviews.exclude(reply_text="").count() == 1
    hidden = demo_reviews.get(status=ReviewStatus.HIDDEN)
    assert hidden.moderation_reason
    reported = ReviewReport.objects.get(handled_at__isnull=True)  # waiting for staff
    assert reported.review.status == ReviewStatus.VISIBLE and reported.reporter.email == "buyer3@demo.market"

    assert sorted(Ticket.objects.values_list("status", flat=True)) == sorted(TicketStatus.values)
    assert Ticket.objects.get(status=TicketStatus.CLOSED).requester_role == "courier"
    assert TicketNote.objects.filter(ticket__status=TicketStatus.PENDING_CUSTOMER).count() == 1


def test_seed_demo_products_are_deterministic(debug_on):
    from commerce.orders.models import OrderLine

    call_command("seed_demo", stdout=io.StringIO())
    sold = set(OrderLine.objects.values_list("sku", flat=True))  # the demo order took units of these
    assert sold
    snapshot = sorted(Product.objects.values_list("sku", "name", "price", "stock"))
    Product.objects.all().delete()
    call_command("seed_demo", stdout=io.StringIO())
    again = sorted(Product.objects.values_list("sku", "name", "price", "stock"))
    assert [row[:3] for row in again] == [row[:3] for row in snapshot]
    assert [row for row in again if row[0] not in sold] == [row for row in snapshot if row[0] not in sold]


def test_seeders_are_discovered_from_installed_apps():
    from commerce.management.commands.seed_demo import discover_seeders

    names = [name for name, _ in discover_seeders()]
    assert "commerce.demo" in names
    # the after-sales demo needs delivered orders, so it runs after the delivery app's
    assert names.index("delivery.demo") < names.index("support.demo")
