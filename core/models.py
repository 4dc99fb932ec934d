"""Accounts: an email-login user with a set of roles, and saved addresses."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    """Roles a user may hold; a user holds a set of them (``User.roles``)."""

    BUYER = "buyer", "Buyer"
    VENDOR = "vendor", "Vendor"
    COURIER = "courier", "Courier"
    ADMIN = "admin", "Admin"


class UserManager(BaseUserManager):
    """Creates users by email; emails are stored lower-cased and are unique case-insensitively."""

    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("email is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("roles", [Role.BUYER])
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("roles", [Role.ADMIN])
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in by email. ``roles`` is a set (stored as a sorted array). What a
    role or flag lets a user do is decided by the predicates of ``core.permissions``
    (``is_marketplace_admin``, ``is_courier``...), never by reading the fields directly."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased
    display_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    roles = ArrayField(models.CharField(max_length=16, choices=Role.choices), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["date_joined"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").lower()
        self.roles = sorted(set(self.roles or []))
        super().save(*args, **kwargs)


class Address(models.Model):
    """A saved postal address. At most one default shipping and one default billing per user
    (enforced by partial unique constraints). ``latitude``/``longitude`` in decimal degrees
    (WGS 84) are optional and used by delivery for the drop-off point."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=60, blank=True)
    full_name = models.CharField(max_length=120)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    phone = models.CharField(max_length=32, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default_shipping=True), name="core_address_one_default_shipping"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default_billing=True), name="core_address_one_default_billing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city}"


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` a user sent for a ``scope`` (``checkout``, ``order_payment``...):
    the request's ``fingerprint`` (sha256 of method, path and canonical body) and, once the
    request finished, the response to replay (status and JSON body). Kept
    ``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h); ``core.tasks.purge_idempotency_keys`` removes older
    rows. See :mod:`core.idempotency`."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="idempotency_keys")
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="core_idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="core_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.status})"
