"""The role predicates: who a person is on the marketplace, whatever object they touch.

Every permission check of the project is a named predicate. The ones here need only the user
(core sits at the bottom of the import map and knows no domain); the ones about an object live
in a ``permissions.py`` of the app or room that owns the object (``commerce.stores.permissions``,
``commerce.orders.permissions``, ``delivery.permissions``...), all with the same style:
``predicate(user, obj, *, options) -> bool``, never raising, False for anonymous and inactive
users. The whole vocabulary is one table in docs/architecture.md ("Permission vocabulary").

Two meanings are decided here, once:

* **an active user** (:func:`is_active_user`): signed in (``is_authenticated``) and not
  deactivated (``is_active``). An inactive user passes no predicate at all, whatever roles or
  flags they still hold;
* **a marketplace admin** (:func:`is_marketplace_admin`): an active user who is a Django
  superuser, Django staff (``is_staff``, the flag that opens the admin site) or holds the
  ``admin`` role. Why the broadest of the project's former four meanings: docs/architecture.md.
"""

from __future__ import annotations

from django.db.models import Q

from core.models import Role


def is_active_user(user) -> bool:
    """True for a signed-in user who is not deactivated; False for None, ``AnonymousUser`` and
    an inactive user."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def has_role(user, role: str) -> bool:
    """True when ``user`` is active and holds ``role`` (``core.models.Role``) in ``User.roles``."""
    return is_active_user(user) and role in (getattr(user, "roles", None) or [])


def is_marketplace_admin(user) -> bool:
    """A marketplace administrator: an active user who is a superuser, Django staff
    (``is_staff``) or holds the ``admin`` role. Approves stores and auctions, resolves
    disputes, sees and moves any order, auction, delivery and dispute (except the system's
    own moves), handles chat reports, bans users."""
    if not is_active_user(user):
        return False
    return bool(getattr(user, "is_superuser", False) or getattr(user, "is_staff", False)
                or Role.ADMIN in (getattr(user, "roles", None) or []))


def marketplace_admins_q() -> Q:
    """The queryset form of :func:`is_marketplace_admin` for ``User`` rows
    (``User.objects.filter(marketplace_admins_q())``)."""
    return Q(is_active=True) & (Q(is_superuser=True) | Q(is_staff=True) | Q(roles__contains=[Role.ADMIN]))


def is_courier(user) -> bool:
    """An active user with the ``courier`` role: browses open deliveries, claims them, has a
    courier profile."""
    return has_role(user, Role.COURIER)


def is_account_owner(user, user_id) -> bool:
    """True when the active ``user`` is the account ``user_id`` (a UUID or its string): their own
    ``user:<id>`` and ``cart:<id>`` topics, their own inbox."""
    return is_active_user(user) and str(user.pk) == str(user_id)
