"""Factories of accounts."""

import factory
from django.conf import settings

from core.models import Address, Role, User

PASSWORD = "s3cret-Passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    """A buyer with password :data:`PASSWORD`. ``UserFactory(roles=["vendor"])`` for others."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    roles = factory.LazyFunction(lambda: [Role.BUYER])
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class AdminFactory(UserFactory):
    roles = factory.LazyFunction(lambda: [Role.ADMIN])
    is_staff = True
    is_superuser = True


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = factory.Faker("name")
    line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    postal_code = factory.Faker("postcode")
    country = "DE"
    latitude = "52.520008"
    longitude = "13.404954"
