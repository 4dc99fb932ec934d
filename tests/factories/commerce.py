"""Factories of commerce: vendors (with their owner as staff), categories, brands, products, carts.

``VendorFactory()`` is an *active* store whose owner (a user with the ``vendor`` role) is staff;
``VendorFactory(status="pending")`` for others. ``ProductFactory(vendor=v, stock=3, price="9.99")``.
"""

from decimal import Decimal

import factory

from commerce.cart.models import Cart, CartItem
from commerce.catalog.models import Brand, Category, Product, ProductImage
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
