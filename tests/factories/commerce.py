"""Factories of commerce: vendors (with their owner as staff), categories, brands, products, carts.

``VendorFactory()`` is an *active* store whose owner (a user with the ``vendor`` role) is staff,
shipping everywhere with one free flat method "Standard" (``VendorFactory(shipping=False)``: no
zone, no method); ``VendorFactory(status="pending")`` for others.
``ProductFactory(vendor=v, stock=3, price="9.99")``. ``ShippingZoneFactory`` /
``ShippingMethodFactory`` / ``WeightBandFactory`` for the shipping rules.
"""

from decimal import Decimal

import factory

from commerce.cart.models import Cart, CartItem
from commerce.catalog.models import Brand, Category, Product, ProductImage
from commerce.shipping.models import ShippingMethod, ShippingWeightBand, ShippingZone
from commerce.stores.models import Vendor, VendorStaff, VendorStaffRole, VendorStatus
from core.models import Role
from tests.factories.core import UserFactory


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    description = "A store."
    status = VendorStatus.ACTIVE
    owner = factory.SubFactory(UserFactory, roles=[Role.BUYER, Role.VENDOR])

    @factory.post_generation
    def owner_membership(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            VendorStaff.objects.get_or_create(vendor=obj, user=obj.owner, defaults={"role": VendorStaffRole.OWNER})

    @factory.post_generation
    def shipping(obj, create, extracted, **kwargs):  # noqa: N805
        """A rest-of-world zone with a free "Standard" method, unless ``shipping=False``."""
        if create and extracted is not False:
            zone = ShippingZone.objects.create(vendor=obj, name="Everywhere", rest_of_world=True)
            ShippingMethod.objects.create(vendor=obj, zone=zone, name="Standard", rule="flat", price=Decimal("0.00"))


class VendorStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorStaff

    vendor = factory.SubFactory(VendorFactory)
    user = factory.SubFactory(UserFactory, roles=[Role.VENDOR])
    role = VendorStaffRole.STAFF


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    parent = None
    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    vendor = factory.SubFactory(VendorFactory)
    category = factory.SubFactory(CategoryFactory)
    brand = None
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = ""
    price = Decimal("10.00")
    currency = "EUR"
    stock = 10
    attributes = factory.LazyFunction(dict)
    is_active = True


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    url = factory.Sequence(lambda n: f"/media/p/{n}.jpg")
    position = 0


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class ShippingZoneFactory(factory.django.DjangoModelFactory):
    """``ShippingZoneFactory(vendor=v, countries=["DE"], postcodes=["10*"])``."""

    class Meta:
        model = ShippingZone

    vendor = factory.SubFactory(VendorFactory, shipping=False)
    name = factory.Sequence(lambda n: f"Zone {n}")
    countries = factory.LazyFunction(lambda: ["DE"])


class ShippingMethodFactory(factory.django.DjangoModelFactory):
    """A flat method of the zone's store: ``ShippingMethodFactory(zone=z, price="4.90")``."""

    class Meta:
        model = ShippingMethod

    zone = factory.SubFactory(ShippingZoneFactory)
    vendor = factory.LazyAttribute(lambda o: o.zone.vendor)
    name = factory.Sequence(lambda n: f"Method {n}")
    rule = "flat"
    price = Decimal("4.90")


class WeightBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingWeightBand

    method = factory.SubFactory(ShippingMethodFactory, rule="weight")
    max_weight_g = 1000
    price = Decimal("5.00")
