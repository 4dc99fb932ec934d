"""How stores answer changes of their own rows that other apps' access depends on.

A ``VendorStaff`` row deleted (through the admin, a service or a cascade): the person's open
sockets check their access to every subscribed topic again after commit
(``realtime.outbox.reauthorize_user``), so a removed clerk stops receiving the store's chats,
desk and pending auctions at once, although sockets otherwise check a topic's access only when
subscribing.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete

from commerce.stores.models import VendorStaff
from realtime.outbox import reauthorize_user


def staff_removed(sender: Any = None, *, instance: VendorStaff, **kwargs: Any) -> None:
    """Receiver of ``post_delete`` for ``VendorStaff``: ``reauthorize_user(user_id, reason="staff_removed")``."""
    reauthorize_user(user_id=instance.user_id, reason="staff_removed")


def connect() -> None:
    """Connect the receivers (``commerce.wiring``)."""
    post_delete.connect(staff_removed, sender=VendorStaff, dispatch_uid="stores.staff_removed")
