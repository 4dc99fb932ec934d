"""The registry of notification kinds and delivery channels.

A *kind* names what happened (``order.status_changed``, ``auction.outbid``...). Every call to
:func:`notifications.services.notify` names a registered kind; an unknown one raises
:class:`UnknownNotificationKind` (a ``ValueError``) at the call. Apps add their own kinds at
import time, usually from their ``AppConfig.ready``::

    from notifications.kinds import EMAIL, IN_APP, register_kind

    register_kind(
        "review.published",
        description="A review of your product was published.",
        default_channels=(IN_APP,),
    )

A kind declares:

* ``description`` — one sentence shown on the preferences screen and in the README;
* ``critical`` — critical kinds (account security, payment results) are always delivered on every
  channel: users cannot switch them off and a daily digest never delays their email;
* ``default_channels`` — channels that are on for a user who has not chosen (critical kinds: all).

Channels are ``in_app`` (the inbox and the ``user:<id>`` socket topic) and ``email``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

IN_APP = "in_app"
EMAIL = "email"
CHANNELS: tuple[str, ...] = (IN_APP, EMAIL)

KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KIND_MAX_LENGTH = 64


class UnknownNotificationKind(ValueError):
    """``notify`` or a lookup was given a kind nobody registered (a programming error)."""


@dataclass(frozen=True)
class NotificationKind:
    """A registered kind: ``name`` (dotted, e.g. ``auction.outbid``), ``description``,
    ``critical`` and ``default_channels`` (a frozenset of :data:`CHANNELS`)."""

    name: str
    description: str
    critical: bool
    default_channels: frozenset[str]

    def default_for(self, channel: str) -> bool:
        """Whether ``channel`` is on for a user who has not chosen."""
        return self.critical or channel in self.default_channels


_registry: dict[str, NotificationKind] = {}


def register_kind(
    name: str,
    *,
    description: str,
    critical: bool = False,
    default_channels: Iterable[str] = (IN_APP, EMAIL),
) -> NotificationKind:
    """Register kind ``name`` and return it.

    Registering the same name again with the same definition is a no-op; with a different one it
    raises ``ValueError`` (two apps must not silently redefine a kind). Also ``ValueError`` for a
    malformed name (lower-case dotted, at most 64 characters), an empty description or an
    unknown channel. Critical kinds are on for every channel whatever ``default_channels`` says.
    """
    if not isinstance(name, str) or len(name) > KIND_MAX_LENGTH or not KIND_RE.match(name):
        raise ValueError(f"malformed notification kind {name!r} (expected e.g. 'order.status_changed')")
    if not description or not description.strip():
        raise ValueError(f"notification kind {name!r} needs a description")
    channels = frozenset(CHANNELS) if critical else frozenset(default_channels)
    unknown = channels - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channel(s) {sorted(unknown)} for kind {name!r}; channels are {list(CHANNELS)}")
    kind = NotificationKind(name=name, description=description.strip(), critical=bool(critical), default_channels=channels)
    existing = _registry.get(name)
    if existing is not None:
        if existing != kind:
            raise ValueError(f"notification kind {name!r} is already registered with another definition")
        return existing
    _registry[name] = kind
    return kind


def get_kind(name: str) -> NotificationKind:
    """The registered kind ``name``; raises :class:`UnknownNotificationKind` otherwise."""
    try:
        return _registry[name]
    except (KeyError, TypeError):
        raise UnknownNotificationKind(
            f"unknown notification kind {name!r}; register it with notifications.kinds.register_kind "
            f"(known: {', '.join(sorted(_registry))})"
        ) from None


def is_registered(name: str) -> bool:
    return isinstance(name, str) and name in _registry


def all_kinds() -> list[NotificationKind]:
    """Every registered kind, sorted by name."""
    return [_registry[k] for k in sorted(_registry)]


# --- kinds of the marketplace ------------------------------------------------------------------

ORDER_STATUS_CHANGED = register_kind(
    "order.status_changed",
    description="An order you placed or sell changed status (paid, processing, shipped, delivered, cancelled, refunded).",
)
AUCTION_OUTBID = register_kind(
    "auction.outbid",
    description="Someone outbid your maximum on an auction you were leading.",
)
AUCTION_WON = register_kind(
    "auction.won",
    description="You won an auction; an order was created for you.",
)
AUCTION_ENDING_SOON = register_kind(
    "auction.ending_soon",
    description="An auction you bid on or watch ends soon.",
    default_channels=(IN_APP,),
)
CHAT_MESSAGE = register_kind(
    "chat.message",
    description="A new chat message in one of your conversations.",
    default_channels=(IN_APP,),
)
DELIVERY_ARRIVING = register_kind(
    "delivery.arriving",
    description="Your courier is close to the drop-off point.",
    default_channels=(IN_APP,),
)
PAYMENT_SUCCEEDED = register_kind(
    "payment.succeeded",
    description="A payment of yours went through.",
    critical=True,
)
PAYMENT_FAILED = register_kind(
    "payment.failed",
    description="A payment of yours failed or was declined.",
    critical=True,
)
PAYMENT_REFUNDED = register_kind(
    "payment.refunded",
    description="Money was refunded to you.",
    critical=True,
)
ACCOUNT_SECURITY = register_kind(
    "account.security",
    description="Security of your account: password or email changed, sign-in from a new device.",
    critical=True,
)
