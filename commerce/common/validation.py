"""Checks shared by the services of the commerce rooms: ids from clients, field errors with the
stable ``invalid`` code, and free slugs. (Who may do what: the ``permissions.py`` modules.)"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.utils.text import slugify

from core.exceptions import ApplicationError, NotFound


def as_uuid(value: Any, *, code: str, what: str) -> uuid.UUID:
    """``value`` as a UUID; a malformed id is ``NotFound`` with ``code`` ("``what`` not found."),
    never a hint that the id was malformed rather than unknown."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(f"{what} not found.", code=code) from None


def invalid(field: str, message: str) -> ApplicationError:
    """The 400 ``invalid`` error for one field: ``{"code": "invalid", "detail": message,
    "fields": {field: [message]}}`` (return it, the caller raises)."""
    return ApplicationError(message, code="invalid", status=400, fields={field: [message]})


def unique_slug(model, base: str, *, max_length: int, scope: Q | None = None) -> str:
    """A slug of ``base`` not yet used by ``model`` rows (within ``scope``): ``base``, else
    ``base-2``, ``base-3``... Racing writers can still collide: callers retry on IntegrityError."""
    base = slug_base(base, max_length=max_length)
    qs = model.objects.all()
    if scope is not None:
        qs = qs.filter(scope)
    return slug_among(base, set(qs.filter(slug__startswith=base).values_list("slug", flat=True)))


def slug_base(text: str, *, max_length: int) -> str:
    """The slug :func:`unique_slug` starts from: ``slugify(text)`` cut to leave room for a
    ``-n`` suffix (``"item"`` when nothing is left)."""
    return (slugify(text) or "item")[: max_length - 8].strip("-") or "item"


def slug_among(base: str, taken: set[str]) -> str:
    """``base``, else ``base-2``, ``base-3``... whichever is not in ``taken`` (a set of slugs;
    bulk writers add each slug they hand out to it)."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
