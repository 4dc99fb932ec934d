"""Reads of accounts and addresses (no writes here; see ``core.services``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from core.exceptions import NotFound
from core.utils import parse_uuid
from core.models import Address, User


class AddressNotFound(NotFound):
    """404 ``address_not_found``: no such address, or it belongs to someone else."""

    code = "address_not_found"



def user_get_by_email(*, email: str) -> User | None:
    """The user whose email equals ``email`` case-insensitively (surrounding blanks ignored), or
    ``None``. Active and inactive users alike."""
    if not isinstance(email, str) or not email.strip():
        return None
    return User.objects.filter(email__iexact=email.strip()).first()


def user_get(*, user_id: Any) -> User | None:
    """The user with primary key ``user_id`` (a UUID or its string), or ``None`` when it does not
    exist or ``user_id`` is not a UUID."""
    pk = parse_uuid(user_id)
    if pk is None:
        return None
    return User.objects.filter(pk=pk).first()


def address_list(*, user: User) -> QuerySet[Address]:
    """The saved addresses of ``user``, oldest first."""
    return Address.objects.filter(user=user).order_by("created_at", "id")


def address_get(*, user: User, address_id: Any) -> Address:
    """The address ``address_id`` of ``user``.

    Raises :class:`AddressNotFound` (404, ``address_not_found``) when the id is malformed, unknown
    or the address belongs to another user (no difference is visible to the caller).
    """
    pk = parse_uuid(address_id)
    address = Address.objects.filter(pk=pk, user=user).first() if pk is not None else None
    if address is None:
        raise AddressNotFound("Address not found.")
    return address
