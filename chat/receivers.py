"""How chat answers changes of other apps' rows that its counters depend on.

A ``VendorStaff`` row created or deleted (a clerk joins or leaves a store, through a service,
the admin or a cascade): the person takes part in that store's conversations, or no longer, so
their unread total (``ChatUserLock.total_unread``) is recounted from their read states in the
same transaction (``chat.services.unread_recount``). Rows made with ``bulk_create`` send no
signal: staff must be added and removed one by one where conversations may exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from chat.services import unread_recount
from commerce.stores.models import VendorStaff


def staff_saved(sender: Any = None, *, instance: VendorStaff, created: bool = False, **kwargs: Any) -> None:
    """Receiver of ``post_save`` for ``VendorStaff``: a new member's total is recounted (a role
    change changes nothing)."""
    if created:
        unread_recount(user_ids=[instance.user_id])


def staff_deleted(sender: Any = None, *, instance: VendorStaff, **kwargs: Any) -> None:
    """Receiver of ``post_delete`` for ``VendorStaff``: the former member's total is recounted."""
    unread_recount(user_ids=[instance.user_id])


def connect() -> None:
    """Connect the receivers (``chat.apps.ChatConfig.ready``)."""
    post_save.connect(staff_saved, sender=VendorStaff, dispatch_uid="chat.staff_saved")
    post_delete.connect(staff_deleted, sender=VendorStaff, dispatch_uid="chat.staff_deleted")
